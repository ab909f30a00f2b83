package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.DpoLoss;
import io.github.mmupt.grpo.DpoPairs;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.grpo.ReferenceHeadScorer;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.preference.PreferencePair;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.train.DpoTrainer;
import io.github.mmupt.train.FakeModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DPO native against the double-precision reference: the kernel's {@code mmupt_dpo_pairs} against
 * {@link DpoLoss} on random and saturating margins, and whole DPO runs with the native optimizer against the
 * reference optimizer.
 */
class DpoParityTest {

    @BeforeAll
    static void nativeLibraryLoads() {
        NativeLibrary.load();
    }

    @Test
    void theKernelsCoefficientsAreTheReferences() {
        Random rng = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rng.nextInt(9);
            double scale = trial % 4 == 0 ? 300 : 5; // every fourth trial saturates the sigmoid
            double[][] in = new double[4][n];
            for (double[] a : in) {
                for (int i = 0; i < n; i++) {
                    a[i] = -scale * rng.nextDouble();
                }
            }
            double beta = 0.01 + 2 * rng.nextDouble();
            DpoPairs ref = DpoLoss.pairs(in[0], in[1], in[2], in[3], beta);
            DpoPairs nat = NativeHead.dpoPairs(in[0], in[1], in[2], in[3], beta);
            assertThat(nat.loss()).isCloseTo(ref.loss(), within(1e-12 * Math.max(1, ref.loss())));
            assertThat(nat.meanMargin()).isCloseTo(ref.meanMargin(), within(1e-12 * Math.max(1, Math.abs(ref.meanMargin()))));
            assertThat(nat.accuracy()).isEqualTo(ref.accuracy());
            for (int i = 0; i < n; i++) {
                assertThat(nat.chosenCoefficients()[i]).isCloseTo(ref.chosenCoefficients()[i], within(1e-15));
                assertThat(nat.rejectedCoefficients()[i]).isEqualTo(-nat.chosenCoefficients()[i]);
            }
        }
    }

    @Test
    void theKernelRefusesWhatTheReferenceRefuses() {
        double[] one = {-1};
        assertThatThrownBy(() -> NativeHead.dpoPairs(new double[] {Double.NaN}, one, one, one, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pair 0");
        assertThatThrownBy(() -> NativeHead.dpoPairs(one, one, one, one, 0)).hasMessageContaining("beta");
        assertThatThrownBy(() -> NativeHead.dpoPairs(one, new double[2], one, one, 0.1)).hasMessageContaining("same number");
        assertThatThrownBy(() -> NativeHead.dpoPairs(new double[] {-1e300}, new double[] {0}, new double[] {0},
                new double[] {0}, 1e10)).hasMessageContaining("overflows");
    }

    @Test
    void aNativeDpoRunFollowsTheReferenceRun() {
        double[] w = new double[FakeModels.V * FakeModels.D];
        float[] wf = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            wf[i] = (float) (0.1 * Math.cos(i));
            w[i] = wf[i];
        }
        HeadShape shape = HeadShape.full(FakeModels.V, FakeModels.D);
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(0.7).kl(KlPenalty.none()).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(0.02).build();
        DpoTrainer.Result reference;
        DpoTrainer.Result nativeRun;
        try (GrpoOptimizer ref = new ReferenceGrpoOptimizer(io.github.mmupt.head.ReferenceHead.full(shape, w), loss, adamW);
                GrpoOptimizer nat = HeadOptimizers.create(HeadWeights.full(shape, wf), loss, adamW, KernelOptions.defaults())) {
            assertThat(nat).isInstanceOf(NativeGrpoOptimizer.class);
            try (HeadScorer frozen = HeadOptimizers.scorer(HeadWeights.full(shape, wf), 0.7, KernelOptions.defaults())) {
                reference = run(ref, new ReferenceHeadScorer(io.github.mmupt.head.ReferenceHead.full(shape, w), 0.7));
                nativeRun = run(nat, frozen);
            }
        }
        for (int s = 0; s < reference.steps().size(); s++) {
            assertThat(nativeRun.steps().get(s).loss()).as("step %d loss", s)
                    .isCloseTo(reference.steps().get(s).loss(), within(1e-5));
        }
        assertThat(reference.steps().get(reference.steps().size() - 1).loss()).isLessThan(reference.steps().get(0).loss());
        float[] a = reference.finalHead().weight();
        float[] b = nativeRun.finalHead().weight();
        for (int i = 0; i < a.length; i++) {
            assertThat((double) b[i]).as("weight %d", i).isCloseTo(a[i], within(1e-4));
        }
    }

    private static DpoTrainer.Result run(GrpoOptimizer opt, HeadScorer reference) {
        List<PreferencePair> pairs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String q = "question " + "x".repeat(i);
            int good = q.length() % 10;
            int bad = (good + 3) % 10;
            pairs.add(new PreferencePair(new Prompt("p" + i, List.of(), q), ImmutableIntArray.of(1 + good, 0), "" + good,
                    ImmutableIntArray.of(1 + bad, 1 + good, 0), bad + "" + good));
        }
        return DpoTrainer.builder().policy(FakeModels.policy("m")).optimizer(opt).reference(reference).pairs(pairs).beta(0.3).steps(8)
                .pairsPerStep(4).microBatchSequences(3).seed(5).build().run();
    }
}
