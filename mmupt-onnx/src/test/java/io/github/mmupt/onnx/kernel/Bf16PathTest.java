package io.github.mmupt.onnx.kernel;

import static io.github.mmupt.onnx.kernel.NativeParityTest.assertClose;
import static io.github.mmupt.onnx.kernel.NativeParityTest.gaussian;
import static io.github.mmupt.onnx.kernel.NativeParityTest.gradient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.LossResult;
import io.github.mmupt.grpo.ReferenceGrpoLoss;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The opt-in bf16 path ({@code avx512bf16}) against the double-precision reference on the unrounded weights,
 * at the benchmark's scales: its rounding error stays within the bounds the README states, the first PPO ratio
 * is exactly 1 (sampling and training read the same bf16 copy of W), and an update refreshes that copy.
 * Skipped, by name, on CPUs without AVX512-BF16.
 */
class Bf16PathTest {

    /** Measured 4.3e-3 at d = 256 by the C tests; log-probs move by rounding W and h to 8-bit mantissas. */
    static final double LOG_PROB_BOUND = 1e-2;
    /** Relative to the largest entry; measured 0.6% (dW) by the C tests. */
    static final double GRADIENT_BOUND = 1.5e-2;

    static final int VOCAB = 2000;
    static final int HIDDEN = 256;
    static final int TOKENS = 40;

    @BeforeAll
    static void nativeLibraryLoads() {
        NativeLibrary.load();
    }

    static boolean bf16Available() {
        try (NativeHead probe = NativeHead.create(HeadShape.full(4, 4), false, KernelOptions.defaults().withBf16Products())) {
            return probe.isa().equals("avx512bf16");
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Test
    void aCpuWithoutBf16RefusesItByName() {
        Assumptions.assumeFalse(bf16Available(), "this CPU has AVX512-BF16: the refusal cannot be seen here");
        assertThatThrownBy(() -> NativeHead.create(HeadShape.full(4, 4), false, KernelOptions.defaults().withBf16Products()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("avx512bf16");
    }

    @Test
    void logProbsAndGradientsStayWithinTheRoundingBoundsAndTheFirstRatioIsExactlyOne() {
        Assumptions.assumeTrue(bf16Available(), "this CPU lacks AVX512-BF16: the bf16 path is not tested here");
        Inputs in = Inputs.of(20261206);
        HeadWeights weights = in.weights();
        HiddenStates hidden = in.hidden();
        ImmutableIntArray targets = in.targets();
        GrpoLossConfig config = GrpoLossConfig.builder().kl(KlPenalty.none()).temperature(0.9).build();
        try (NativeGrpoOptimizer bf16 = new NativeGrpoOptimizer(weights, config, AdamWConfig.mmUpt(),
                KernelOptions.defaults().withBf16Products())) {
            assertThat(bf16.nativeHead().isa()).isEqualTo("avx512bf16");
            TokenScores scores = bf16.score(hidden, targets, HeadVersion.CURRENT);
            TokenScores exact = weights.toReference().score(hidden.toDoubleArray(), targets.toArray(), 0.9);
            assertClose("bf16", "logp", scores.logProbs().toArray(), exact.logProbs().toArray(), LOG_PROB_BOUND, 0);

            LossBatch batch = onPolicyBatch(hidden, targets, scores, config);
            LossMetrics metrics = bf16.accumulate(batch);
            assertThat(metrics.driftSum()).as("on-policy ratio exactly 1").isEqualTo(0.0);
            assertThat(metrics.clippedHigh() + metrics.clippedLow() + metrics.clippedDual()).isZero();
            LossResult expected = ReferenceGrpoLoss.compute(weights.toReference(), batch, config);
            assertClose("bf16", "dW", gradient(bf16.nativeHead(), HeadTensor.WEIGHT), expected.gradients().weight(), 0,
                    GRADIENT_BOUND);
        }
    }

    @Test
    void anUpdateRefreshesTheBf16CopyThatScoringReads() {
        Assumptions.assumeTrue(bf16Available(), "this CPU lacks AVX512-BF16: the bf16 path is not tested here");
        Inputs in = Inputs.of(7);
        HeadWeights weights = in.weights();
        HiddenStates hidden = in.hidden();
        ImmutableIntArray targets = in.targets();
        GrpoLossConfig config = GrpoLossConfig.builder().kl(KlPenalty.none()).temperature(1.0).build();
        AdamWConfig large = AdamWConfig.mmUpt().toBuilder().learningRate(0.02).build(); // moves log-probs by far more than the bound
        try (NativeGrpoOptimizer bf16 = new NativeGrpoOptimizer(weights, config, large,
                KernelOptions.defaults().withBf16Products())) {
            TokenScores before = bf16.score(hidden, targets, HeadVersion.CURRENT);
            bf16.accumulate(onPolicyBatch(hidden, targets, before, config));
            assertThat(bf16.update().skipped()).isFalse();
            HeadWeights updated = bf16.weights(); // the fp32 master weights
            TokenScores after = bf16.score(hidden, targets, HeadVersion.CURRENT);
            double[] exactAfter = updated.toReference().score(hidden.toDoubleArray(), targets.toArray(), 1.0)
                    .logProbs().toArray();
            assertClose("bf16 after an update", "logp", after.logProbs().toArray(), exactAfter, LOG_PROB_BOUND, 0);
            double moved = 0;
            for (int t = 0; t < TOKENS; t++) {
                moved = Math.max(moved, Math.abs(after.logProbs().get(t) - before.logProbs().get(t)));
            }
            assertThat(moved).as("the update must move log-probs beyond the rounding bound for this test to mean anything")
                    .isGreaterThan(10 * LOG_PROB_BOUND);
        }
    }

    /** A head at the benchmark's scales (W ~ N(0, 0.05^2), h ~ N(0, 1)) and random targets, from a seed. */
    record Inputs(HeadWeights weights, HiddenStates hidden, ImmutableIntArray targets) {
        static Inputs of(long seed) {
            Random rng = new Random(seed);
            HeadWeights w = HeadWeights.full(HeadShape.full(VOCAB, HIDDEN), gaussian(rng, VOCAB * HIDDEN, 0.05));
            HiddenStates h = HiddenStates.of(TOKENS, HIDDEN, gaussian(rng, TOKENS * HIDDEN, 1.0));
            int[] y = new int[TOKENS];
            for (int t = 0; t < TOKENS; t++) {
                y[t] = rng.nextInt(VOCAB);
            }
            return new Inputs(w, h, ImmutableIntArray.copyOf(y));
        }
    }

    private static LossBatch onPolicyBatch(HiddenStates hidden, ImmutableIntArray targets, TokenScores old,
            GrpoLossConfig config) {
        double[] advantages = new double[TOKENS];
        for (int t = 0; t < TOKENS; t++) {
            advantages[t] = t < TOKENS / 2 ? 1.0 : -1.0;
        }
        return new LossBatch(hidden, targets, ImmutableDoubleArray.copyOf(advantages), old.logProbs(),
                ImmutableDoubleArray.of(), ImmutableDoubleArray.copyOf(config.tokenWeights(new int[] {TOKENS / 2, TOKENS / 2})));
    }
}
