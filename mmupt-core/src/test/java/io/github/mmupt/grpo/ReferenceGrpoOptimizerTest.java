package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReferenceGrpoOptimizerTest {

    private static final int V = 9;
    private static final int D = 4;
    private static final int[] LENGTHS = {3, 2, 3};
    private static final double[] SEQUENCE_ADVANTAGES = {1.0, -0.5, 0.25};

    private final Random rng = new Random(7);
    private final ReferenceHead initial = ReferenceHead.full(HeadShape.full(V, D), gaussian(V * D, 0.3));
    private final HiddenStates hidden = HiddenStates.of(8, D, floats(8 * D));
    private final ImmutableIntArray targets = ImmutableIntArray.of(1, 4, 2, 8, 0, 3, 3, 5);
    private final GrpoLossConfig config = GrpoLossConfig.builder().temperature(0.7).build();
    private final AdamWConfig adamW = AdamWConfig.builder().learningRate(0.05).build();

    @Test
    void ratioIsExactlyOneAtTheFirstIteration() {
        try (GrpoOptimizer opt = new ReferenceGrpoOptimizer(initial, config, adamW)) {
            LossBatch batch = onPolicyBatch(opt);
            LossMetrics metrics = opt.accumulate(batch);
            assertThat(metrics.driftSum()).isEqualTo(0.0);
            assertThat(metrics.clippedHigh() + metrics.clippedLow() + metrics.clippedDual()).isZero();
            assertThat(metrics.klSum()).isEqualTo(0.0); // the reference head is the initial head
        }
    }

    @Test
    void referenceHeadStaysFrozenWhileTheHeadTrains() {
        try (GrpoOptimizer opt = new ReferenceGrpoOptimizer(initial, config, adamW)) {
            TokenScores before = opt.score(hidden, targets, HeadVersion.CURRENT);
            opt.accumulate(onPolicyBatch(opt));
            UpdateResult update = opt.update();
            assertThat(update.skipped()).isFalse();
            assertThat(update.step()).isEqualTo(1);
            assertThat(opt.score(hidden, targets, HeadVersion.REFERENCE)).isEqualTo(before);
            assertThat(opt.score(hidden, targets, HeadVersion.CURRENT)).isNotEqualTo(before);
        }
    }

    @Test
    void trainingRaisesTheLogProbOfPositiveAdvantageTokens() {
        try (ReferenceGrpoOptimizer opt = new ReferenceGrpoOptimizer(initial, config, adamW)) {
            TokenScores before = opt.score(hidden, targets, HeadVersion.CURRENT);
            for (int step = 0; step < 5; step++) {
                opt.accumulate(onPolicyBatch(opt));
                opt.update();
            }
            TokenScores after = opt.score(hidden, targets, HeadVersion.CURRENT);
            double positiveGain = 0;
            double negativeGain = 0;
            for (int t = 0; t < 3; t++) { // the first sequence has A = +1
                positiveGain += after.logProbs().get(t) - before.logProbs().get(t);
            }
            for (int t = 3; t < 5; t++) { // the second has A = -0.5
                negativeGain += after.logProbs().get(t) - before.logProbs().get(t);
            }
            assertThat(positiveGain).isPositive();
            assertThat(negativeGain).isNegative();
        }
    }

    @Test
    void oneMicroBatchOfKEqualsKMicroBatchesOfOne() {
        try (ReferenceGrpoOptimizer whole = new ReferenceGrpoOptimizer(initial, config, adamW);
                ReferenceGrpoOptimizer split = new ReferenceGrpoOptimizer(initial, config, adamW)) {
            LossBatch batch = onPolicyBatch(whole);
            LossMetrics one = whole.accumulate(batch);
            LossMetrics sum = LossMetrics.EMPTY;
            int at = 0;
            for (int length : LENGTHS) {
                sum = sum.plus(split.accumulate(batch.rows(at, at + length)));
                at += length;
            }
            assertThat(sum.loss()).isCloseTo(one.loss(), within(1e-12));
            assertThat(sum.tokens()).isEqualTo(one.tokens());
            UpdateResult a = whole.update();
            UpdateResult b = split.update();
            assertThat(b.gradNorm()).isCloseTo(a.gradNorm(), within(1e-12));
            double[] wa = whole.head().effectiveWeight();
            double[] wb = split.head().effectiveWeight();
            for (int i = 0; i < wa.length; i++) {
                assertThat(wb[i]).as("weight %d", i).isCloseTo(wa[i], within(1e-12));
            }
        }
    }

    @Test
    void aNonFiniteGradientSkipsTheUpdateAndLeavesTheHeadAlone() {
        try (ReferenceGrpoOptimizer opt = new ReferenceGrpoOptimizer(initial, config, adamW)) {
            float[] poisoned = floats(8 * D);
            poisoned[5] = Float.NaN;
            HiddenStates bad = HiddenStates.of(8, D, poisoned);
            LossBatch batch = new LossBatch(bad, targets, advantages(), ImmutableDoubleArray.copyOf(new double[8]),
                    ImmutableDoubleArray.copyOf(new double[8]), weights());
            LossMetrics metrics = opt.accumulate(batch);
            assertThat(metrics.isFinite()).isFalse();
            UpdateResult update = opt.update();
            assertThat(update.skipped()).isTrue();
            assertThat(update.step()).isZero();
            assertThat(opt.head().effectiveWeight()).containsExactly(initial.effectiveWeight());
            // the poisoned gradient was discarded: a clean batch now trains normally
            opt.accumulate(onPolicyBatch(opt));
            assertThat(opt.update().skipped()).isFalse();
        }
    }

    @Test
    void klWithoutReferenceLogProbsIsRefusedWithAReason() {
        try (ReferenceGrpoOptimizer opt = new ReferenceGrpoOptimizer(initial, config, adamW)) {
            LossBatch batch = onPolicyBatch(opt);
            LossBatch noRef = new LossBatch(batch.hidden(), batch.targets(), batch.advantages(), batch.oldLogProbs(),
                    ImmutableDoubleArray.of(), batch.weights());
            assertThatThrownBy(() -> opt.accumulate(noRef)).hasMessageContaining("no reference log-probs");
        }
    }

    @Test
    void closedOptimizersRefuseWork() {
        ReferenceGrpoOptimizer opt = new ReferenceGrpoOptimizer(initial, config, adamW);
        opt.close();
        opt.close(); // idempotent
        assertThatThrownBy(() -> opt.score(hidden, targets, HeadVersion.CURRENT))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    private LossBatch onPolicyBatch(GrpoOptimizer opt) {
        TokenScores now = opt.score(hidden, targets, HeadVersion.CURRENT);
        TokenScores ref = opt.score(hidden, targets, HeadVersion.REFERENCE);
        return new LossBatch(hidden, targets, advantages(), now.logProbs(), ref.logProbs(), weights());
    }

    private ImmutableDoubleArray advantages() {
        ImmutableDoubleArray.Builder a = ImmutableDoubleArray.builder();
        for (int s = 0; s < LENGTHS.length; s++) {
            for (int i = 0; i < LENGTHS[s]; i++) {
                a.add(SEQUENCE_ADVANTAGES[s]);
            }
        }
        return a.build();
    }

    private ImmutableDoubleArray weights() {
        return ImmutableDoubleArray.copyOf(config.tokenWeights(LENGTHS));
    }

    private double[] gaussian(int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextGaussian() * scale;
        }
        return x;
    }

    private float[] floats(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
