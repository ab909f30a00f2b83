package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.policy.HiddenStates;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A state that would turn the weights non-finite is refused on restore, and an update that would write a
 * non-finite value is skipped with nothing changed, by the native kernel and the Java reference alike.
 */
class UpdateGuardTest {

    private static final int V = 40;
    private static final int D = 8;
    private static final HeadShape SHAPE = HeadShape.full(V, D);
    private static final GrpoLossConfig LOSS = GrpoLossConfig.builder().kl(KlPenalty.none()).temperature(1.0).build();

    private final HeadWeights weights = HeadWeights.full(SHAPE, NativeParityTest.gaussian(new Random(5), V * D, 0.5));

    private List<Function<HeadWeights, GrpoOptimizer>> implementations() {
        return List.of(w -> new NativeGrpoOptimizer(w, LOSS, AdamWConfig.mmUpt(), KernelOptions.defaults()),
                w -> new ReferenceGrpoOptimizer(w.toReference(), LOSS, AdamWConfig.mmUpt()));
    }

    private static OptimizerState stateWith(GrpoOptimizer opt, String tensor, float value) {
        OptimizerState s = opt.state();
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : s.names()) {
            t.put(name, s.tensor(name));
        }
        java.util.Arrays.fill(t.get(tensor), value);
        return new OptimizerState(s.shape(), s.step(), t);
    }

    private static LossBatch batch(GrpoOptimizer opt) {
        Random rng = new Random(9);
        HiddenStates hidden = HiddenStates.of(4, D, NativeParityTest.gaussian(rng, 4 * D, 1.0));
        ImmutableIntArray targets = ImmutableIntArray.of(1, 7, 3, 30);
        ImmutableDoubleArray old = opt.score(hidden, targets, HeadVersion.CURRENT).logProbs();
        return new LossBatch(hidden, targets, ImmutableDoubleArray.of(0, 0, 0, 0), old, ImmutableDoubleArray.of(),
                ImmutableDoubleArray.of(0.25, 0.25, 0.25, 0.25));
    }

    @Test
    void aStepThatWouldOverflowIsSkippedAndChangesNothing() {
        for (Function<HeadWeights, GrpoOptimizer> make : implementations()) {
            try (GrpoOptimizer opt = make.apply(weights)) {
                // huge first moments over zero second moments and a zero gradient (all advantages 0):
                // lr m / (sqrt(v) + eps) exceeds float32's range, in the kernel's float and the reference's double
                OptimizerState poisonedMoments = stateWith(opt, "adam_m.weight", 3e38f);
                opt.restore(poisonedMoments);
                opt.accumulate(batch(opt));
                UpdateResult update = opt.update();
                assertThat(update.skipped()).as(opt.getClass().getSimpleName()).isTrue();
                assertThat(update.gradNorm()).as("the gradient itself was fine").isFinite();
                assertThat(opt.state()).as(opt.getClass().getSimpleName()).isEqualTo(poisonedMoments);
                assertThat(opt.step()).isZero();
            }
        }
    }

    @Test
    void aStateWithNegativeSecondMomentsOrNaNIsRefusedWholeOnRestore() {
        for (Function<HeadWeights, GrpoOptimizer> make : implementations()) {
            try (GrpoOptimizer opt = make.apply(weights)) {
                OptimizerState before = opt.state();
                assertThatThrownBy(() -> opt.restore(stateWith(opt, "adam_v.weight", -1f)))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adam_v.weight")
                        .hasMessageContaining("negative");
                assertThatThrownBy(() -> opt.restore(stateWith(opt, "adam_m.weight", Float.NaN)))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adam_m.weight holds NaN");
                assertThat(opt.state()).isEqualTo(before);
            }
        }
    }
}
