package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * What training a trunk's adapters with the head needs from the head's optimizer, by the native kernel and the
 * Java reference alike: dL/dh of a micro-batch (heap or direct buffer), and one global-norm clip over the head's
 * gradient and the adapters' (given by their sum of squares), skipped whole when the adapters' is not finite.
 */
class SharedClipTest {

    private static final int V = 40;
    private static final int D = 8;
    private static final int T = 5;
    private static final HeadShape SHAPE = HeadShape.full(V, D);
    private static final GrpoLossConfig LOSS = GrpoLossConfig.builder().kl(KlPenalty.none()).temperature(1.0).build();
    private static final AdamWConfig ADAMW = AdamWConfig.builder().learningRate(1e-3).maxGradNorm(0.05).build();

    private final HeadWeights weights = HeadWeights.full(SHAPE, NativeParityTest.gaussian(new Random(5), V * D, 0.5));

    private List<Function<HeadWeights, GrpoOptimizer>> implementations() {
        return List.of(w -> new NativeGrpoOptimizer(w, LOSS, ADAMW, KernelOptions.defaults()),
                w -> new ReferenceGrpoOptimizer(w.toReference(), LOSS, ADAMW));
    }

    private static LossBatch batch(GrpoOptimizer opt) {
        Random rng = new Random(9);
        HiddenStates hidden = HiddenStates.of(T, D, NativeParityTest.gaussian(rng, T * D, 1.0));
        ImmutableIntArray targets = ImmutableIntArray.of(1, 7, 3, 30, 12);
        ImmutableDoubleArray old = opt.score(hidden, targets, HeadVersion.CURRENT).logProbs();
        return new LossBatch(hidden, targets, ImmutableDoubleArray.of(1, -0.5, 2, 1, -1), old, ImmutableDoubleArray.of(),
                ImmutableDoubleArray.of(0.2, 0.2, 0.2, 0.2, 0.2));
    }

    @Test
    void dLdhAgreesAndTheNormCoversHeadAndAdapters() {
        float[][] dh = new float[2][];
        double[] headNorm = new double[2];
        for (int i = 0; i < 2; i++) {
            Function<HeadWeights, GrpoOptimizer> make = implementations().get(i);
            try (GrpoOptimizer alone = make.apply(weights); GrpoOptimizer shared = make.apply(weights)) {
                alone.accumulate(batch(alone));
                headNorm[i] = alone.update().gradNorm();
                FloatBuffer heap = FloatBuffer.allocate(T * D);
                shared.accumulate(batch(shared), heap);
                dh[i] = heap.array();
                double other = 9.0 * headNorm[i] * headNorm[i]; // adapters with three times the head's norm
                UpdateResult u = shared.update(other);
                String who = shared.getClass().getSimpleName();
                assertThat(u.skipped()).as(who).isFalse();
                assertThat(u.gradNorm()).as(who + ": sqrt(head^2 + adapters^2)").isCloseTo(Math.sqrt(10) * headNorm[i],
                        within(1e-9 * headNorm[i]));
                assertThat(u.clipScale()).as(who).isCloseTo(0.05 / (u.gradNorm() + 1e-6), within(1e-12));

                shared.accumulate(batch(shared));
                long step = shared.step();
                assertThat(shared.update(Double.NaN).skipped()).as(who + ": a non-finite adapter gradient").isTrue();
                assertThat(shared.step()).isEqualTo(step);
            }
        }
        assertThat(headNorm[0]).isCloseTo(headNorm[1], within(1e-5 * headNorm[1]));
        for (int j = 0; j < T * D; j++) {
            assertThat((double) dh[0][j]).as("dL/dh[%d], native vs reference", j).isCloseTo(dh[1][j], within(1e-6));
        }
        assertThat(dh[0]).as("dL/dh is not zero").isNotEqualTo(new float[T * D]);
    }
}
