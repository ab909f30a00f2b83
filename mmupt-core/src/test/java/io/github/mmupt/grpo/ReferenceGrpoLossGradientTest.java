package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadGradients;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Central finite differences of the reference loss against its analytic gradients, for every aggregation,
 * KL estimator (with and without clamps), full head and LoRA. Old log-probs are placed in every clip region
 * and away from the clip boundaries, where the loss is differentiable.
 */
class ReferenceGrpoLossGradientTest {

    private static final int V = 7;
    private static final int D = 5;
    private static final int[] LENGTHS = {3, 1, 4};
    private static final double STEP = 1e-6;
    private static final double RELATIVE = 1e-5;
    private static final double ABSOLUTE = 1e-8;

    static Stream<Arguments> combinations() {
        List<Arguments> out = new ArrayList<>();
        for (LossAggregation aggregation : LossAggregation.values()) {
            for (KlPenalty kl : List.of(KlPenalty.none(), new KlPenalty(0.1, KlEstimator.K1, false),
                    new KlPenalty(0.1, KlEstimator.K2, false), new KlPenalty(0.1, KlEstimator.K3, false),
                    new KlPenalty(0.1, KlEstimator.K3, true))) {
                for (boolean lora : new boolean[] {false, true}) {
                    out.add(Arguments.of(aggregation, kl, lora));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} lora={2}")
    @MethodSource("combinations")
    void analyticGradientsMatchFiniteDifferences(LossAggregation aggregation, KlPenalty kl, boolean lora) {
        Random rng = new Random(aggregation.ordinal() * 31L + kl.estimator().ordinal() * 7L + (lora ? 1 : 0));
        ReferenceHead head = randomHead(rng, lora);
        GrpoLossConfig config = GrpoLossConfig.builder().aggregation(aggregation).kl(kl).temperature(0.8)
                .normalizerLength(6).build();
        int tokens = 8;
        double[] hidden = gaussian(rng, tokens * D, 1.0);
        int[] targets = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            targets[t] = rng.nextInt(V);
        }
        TokenScores now = head.score(hidden, targets, config.temperature());
        // log(ratio) offsets reaching no clip, the high clip, the low clip and the dual clip; advantages of both signs
        double[] offsets = {0.05, 0.6, -0.6, 1.4, -0.1, 0.2, 0.6, -0.6};
        double[] advantages = {0.7, 0.7, -0.9, -0.9, 1.1, -0.4, -0.4, 0.3};
        double[] refOffsets = {0.1, -0.2, 0.4, 3.0, -1.0, 0.3, -0.5, -2.5};
        double[] old = new double[tokens];
        double[] ref = new double[tokens];
        for (int t = 0; t < tokens; t++) {
            old[t] = now.logProbs().get(t) - offsets[t];
            ref[t] = now.logProbs().get(t) + refOffsets[t];
        }
        double[] weights = config.tokenWeights(LENGTHS);
        Batch batch = new Batch(hidden, targets, advantages, old, kl.enabled() ? ref : new double[0], weights);

        LossResult result = batch.loss(head, config);
        HeadGradients g = result.gradients();
        String label = aggregation + " " + kl + (lora ? " LoRA" : " full");

        List<double[]> params = head.trainableTensors();
        List<double[]> grads = lora ? List.of(g.loraA(), g.loraB()) : List.of(g.weight());
        for (int k = 0; k < params.size(); k++) {
            double[] p = params.get(k);
            for (int i = 0; i < p.length; i++) {
                double saved = p[i];
                p[i] = saved + STEP;
                double plus = batch.loss(head, config).metrics().loss();
                p[i] = saved - STEP;
                double minus = batch.loss(head, config).metrics().loss();
                p[i] = saved;
                assertNear(label + " dtheta[" + k + "][" + i + "]", grads.get(k)[i], (plus - minus) / (2 * STEP));
            }
        }
        for (int i = 0; i < hidden.length; i++) {
            double saved = batch.hidden[i];
            batch.hidden[i] = saved + STEP;
            double plus = batch.loss(head, config).metrics().loss();
            batch.hidden[i] = saved - STEP;
            double minus = batch.loss(head, config).metrics().loss();
            batch.hidden[i] = saved;
            assertNear(label + " dh[" + i + "]", g.hidden()[i], (plus - minus) / (2 * STEP));
        }
    }

    private static void assertNear(String what, double analytic, double numeric) {
        double tolerance = ABSOLUTE + RELATIVE * Math.max(Math.abs(analytic), Math.abs(numeric));
        assertThat(Math.abs(analytic - numeric))
                .as("%s: analytic %s vs finite difference %s", what, analytic, numeric)
                .isLessThanOrEqualTo(tolerance);
    }

    private static ReferenceHead randomHead(Random rng, boolean lora) {
        if (!lora) {
            return ReferenceHead.full(HeadShape.full(V, D), gaussian(rng, V * D, 0.5));
        }
        HeadShape shape = HeadShape.lora(V, D, 2, 4.0);
        return ReferenceHead.lora(shape, gaussian(rng, V * D, 0.5), gaussian(rng, 2 * D, 0.5),
                gaussian(rng, V * 2, 0.5));
    }

    private static double[] gaussian(Random rng, int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextGaussian() * scale;
        }
        return x;
    }

    /**
     * A batch whose hidden states stay in double precision: {@link HiddenStates} holds floats, too coarse
     * for a finite-difference step, so the loss is evaluated on {@code hidden} directly.
     */
    private record Batch(double[] hidden, int[] targets, double[] advantages, double[] old, double[] ref,
            double[] weights) {

        LossResult loss(ReferenceHead head, GrpoLossConfig config) {
            return ReferenceGrpoLoss.compute(head, hidden, toLossBatch(), config);
        }

        LossBatch toLossBatch() {
            float[] f = new float[hidden.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) hidden[i];
            }
            return new LossBatch(HiddenStates.of(targets.length, D, f), ImmutableIntArray.copyOf(targets),
                    ImmutableDoubleArray.copyOf(advantages), ImmutableDoubleArray.copyOf(old),
                    ImmutableDoubleArray.copyOf(ref), ImmutableDoubleArray.copyOf(weights));
        }
    }
}
