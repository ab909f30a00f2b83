package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.KlEstimator;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.grpo.ReferenceHeadScorer;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.preference.PreferencePair;
import io.github.mmupt.prompt.Prompt;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** DPO on the reference head: it learns the preference, is deterministic, and refuses what would be wrong. */
class DpoTrainerTest {

    private static ReferenceHead initial() {
        double[] w = new double[FakeModels.V * FakeModels.D];
        for (int i = 0; i < w.length; i++) {
            w[i] = 0.1 * Math.cos(i);
        }
        return ReferenceHead.full(HeadShape.full(FakeModels.V, FakeModels.D), w);
    }

    private static GrpoOptimizer optimizer(KlPenalty kl) {
        return new ReferenceGrpoOptimizer(initial(),
                GrpoLossConfig.builder().temperature(1.0).kl(kl).build(), AdamWConfig.builder().learningRate(0.05).build());
    }

    /** Pairs preferring "digit = question length mod 10" over "digit + 3". */
    static List<PreferencePair> pairs(int n) {
        List<PreferencePair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String q = "question " + "x".repeat(i);
            int good = q.length() % 10;
            int bad = (good + 3) % 10;
            out.add(new PreferencePair(new Prompt("p" + i, List.of(), q), ImmutableIntArray.of(1 + good, 0), "" + good,
                    ImmutableIntArray.of(1 + bad, 0), "" + bad));
        }
        return out;
    }

    private static DpoTrainer.Result run(GrpoOptimizer opt, long seed, int micro) {
        return DpoTrainer.builder().policy(FakeModels.policy("m")).optimizer(opt).reference(reference(1.0))
                .pairs(pairs(6)).beta(0.5).steps(12)
                .pairsPerStep(4).microBatchSequences(micro).seed(seed).build().run();
    }

    private static ReferenceHeadScorer reference(double temperature) {
        return new ReferenceHeadScorer(initial(), temperature);
    }

    @Test
    void learnsThePreferenceAndStartsFromTheReference() {
        DpoTrainer.Result r = run(optimizer(KlPenalty.none()), 1, 64);
        DpoTrainer.Step first = r.steps().get(0);
        assertThat(first.loss()).as("policy = reference at the start: loss log 2").isCloseTo(Math.log(2),
                org.assertj.core.api.Assertions.within(1e-12));
        assertThat(first.meanMargin()).isZero();
        DpoTrainer.Step last = r.steps().get(r.steps().size() - 1);
        assertThat(last.loss()).isLessThan(first.loss() - 0.1);
        assertThat(last.accuracy()).isEqualTo(1.0);
        assertThat(r.steps()).allSatisfy(s -> assertThat(s.update().skipped()).isFalse());
    }

    @Test
    void isDeterministicAndMicroBatchingDoesNotChangeTheResult() {
        float[] a = run(optimizer(KlPenalty.none()), 3, 64).finalHead().weight();
        float[] b = run(optimizer(KlPenalty.none()), 3, 64).finalHead().weight();
        float[] c = run(optimizer(KlPenalty.none()), 3, 3).finalHead().weight();
        float[] d = run(optimizer(KlPenalty.none()), 4, 64).finalHead().weight();
        assertThat(b).containsExactly(a);
        for (int i = 0; i < a.length; i++) {
            assertThat((double) c[i]).isCloseTo(a[i], org.assertj.core.api.Assertions.within(1e-6));
        }
        assertThat(d).as("another seed, another order").isNotEqualTo(a);
    }

    @Test
    void refusesAnOptimizerWithAKlTermAndBadSettings() {
        assertThatThrownBy(() -> run(optimizer(new KlPenalty(0.01, KlEstimator.K3, true)), 1, 64))
                .hasMessageContaining("KlPenalty.none()");
        assertThatThrownBy(() -> DpoTrainer.builder().policy(FakeModels.policy("m")).optimizer(optimizer(KlPenalty.none()))
                .reference(reference(1.0)).pairs(List.of()).build()).hasMessageContaining("at least one preference pair");
        assertThatThrownBy(() -> DpoTrainer.builder().policy(FakeModels.policy("m")).optimizer(optimizer(KlPenalty.none()))
                .reference(reference(1.0)).pairs(pairs(2)).beta(-1).build()).hasMessageContaining("beta");
        assertThatThrownBy(() -> DpoTrainer.builder().policy(FakeModels.policy("m")).optimizer(optimizer(KlPenalty.none()))
                .reference(reference(0.5)).pairs(pairs(2)).build()).hasMessageContaining("one temperature");
        assertThatThrownBy(() -> DpoTrainer.builder().policy(FakeModels.policy("m")).optimizer(optimizer(KlPenalty.none()))
                .pairs(pairs(2)).build()).hasMessageContaining("a reference head");
    }
}
