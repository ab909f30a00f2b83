package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadGradients;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.policy.HiddenStates;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.Scale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * DPO's reference path in double precision: against the independent NumPy golden vectors (loss, coefficients,
 * head and hidden-state gradients through the surrogate batch and {@link ReferenceGrpoLoss}), against finite
 * differences of the loss in the head's weights, and its invariants for any margins.
 */
class DpoLossTest {

    private static final GrpoLossConfig NO_KL = GrpoLossConfig.builder().temperature(1.0).kl(KlPenalty.none()).build();

    /** One golden case, read from dpo_golden.json. */
    record Case(String name, int v, int d, int[] lengths, double beta, double tau, double[] w, double[] wRef, float[] h,
            int[] y, JsonNode expected) {
        @Override
        public String toString() {
            return name;
        }

        double[] expected(String key) {
            return doubles(expected.get(key));
        }
    }

    static List<Case> cases() throws Exception {
        try (InputStream in = DpoLossTest.class.getResourceAsStream("/golden/dpo_golden.json")) {
            List<Case> out = new ArrayList<>();
            for (JsonNode c : new ObjectMapper().readTree(in).get("cases")) {
                double[] h = doubles(c.get("h"));
                float[] hf = new float[h.length];
                for (int i = 0; i < h.length; i++) {
                    hf[i] = (float) h[i];
                }
                out.add(new Case(c.get("name").asText(), c.get("V").asInt(), c.get("d").asInt(), ints(c.get("lengths")),
                        c.get("beta").asDouble(), c.get("tau").asDouble(), doubles(c.get("W")), doubles(c.get("W_ref")),
                        hf, ints(c.get("y")), c.get("expected")));
            }
            return out;
        }
    }

    /** What the reference computes for a case: loss, coefficients, sequence log-probs and gradients. */
    record Computed(DpoPairs pairs, double[] sequenceLogProbs, HeadGradients gradients) {
    }

    static Computed compute(Case c, double[] w) {
        HeadShape shape = HeadShape.full(c.v(), c.d());
        ReferenceHead head = ReferenceHead.full(shape, w);
        ReferenceHead ref = ReferenceHead.full(shape, c.wRef());
        int[] lengths = c.lengths();
        int tokens = c.y().length;
        double[] lp = head.score(toDouble(c.h()), c.y(), c.tau()).logProbs().toArray();
        double[] rp = ref.score(toDouble(c.h()), c.y(), c.tau()).logProbs().toArray();
        double[] seq = new double[lengths.length];
        double[] refSeq = new double[lengths.length];
        for (int q = 0, t = 0; q < lengths.length; q++) {
            for (int k = 0; k < lengths[q]; k++, t++) {
                seq[q] += lp[t];
                refSeq[q] += rp[t];
            }
        }
        int p = lengths.length / 2;
        double[][] split = new double[4][p];
        for (int i = 0; i < p; i++) {
            split[0][i] = seq[2 * i];
            split[1][i] = seq[2 * i + 1];
            split[2][i] = refSeq[2 * i];
            split[3][i] = refSeq[2 * i + 1];
        }
        DpoPairs d = DpoLoss.pairs(split[0], split[1], split[2], split[3], c.beta());
        double[] coef = new double[lengths.length];
        for (int i = 0; i < p; i++) {
            coef[2 * i] = d.chosenCoefficients()[i];
            coef[2 * i + 1] = d.rejectedCoefficients()[i];
        }
        LossBatch batch = DpoLoss.surrogate(HiddenStates.of(tokens, c.d(), c.h()), ImmutableIntArray.copyOf(c.y()), lp,
                lengths, coef);
        GrpoLossConfig config = GrpoLossConfig.builder().temperature(c.tau()).kl(KlPenalty.none()).build();
        return new Computed(d, seq, ReferenceGrpoLoss.compute(head, batch, config).gradients());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheNumPyGoldenVectors(Case c) {
        Computed r = compute(c, c.w());
        assertThat(r.pairs().loss()).as("%s: loss", c).isCloseTo(c.expected().get("loss").asDouble(), within(1e-10));
        assertClose(c, "chosenCoefficients", r.pairs().chosenCoefficients(), c.expected("chosenCoefficients"));
        assertClose(c, "sequenceLogProbs", r.sequenceLogProbs(), c.expected("sequenceLogProbs"));
        assertClose(c, "gradWeight", r.gradients().weight(), c.expected("gradWeight"));
        assertClose(c, "gradHidden", r.gradients().hidden(), c.expected("gradHidden"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theHeadGradientIsTheLossDerivative(Case c) {
        double[] grad = compute(c, c.w()).gradients().weight();
        double eps = 1e-6;
        for (int i = 0; i < grad.length; i += 3) {
            double[] plus = c.w().clone();
            double[] minus = c.w().clone();
            plus[i] += eps;
            minus[i] -= eps;
            double fd = (compute(c, plus).pairs().loss() - compute(c, minus).pairs().loss()) / (2 * eps);
            assertThat(grad[i]).as("%s: dL/dW[%d]", c, i).isCloseTo(fd, within(1e-6 * Math.max(1, Math.abs(fd))));
        }
    }

    @Property(tries = 300)
    void coefficientsAreOppositeBoundedAndTheLossIsFinite(@ForAll @DoubleRange(min = -1e6, max = 1e6) double chosen,
            @ForAll @DoubleRange(min = -1e6, max = 1e6) double rejected, @ForAll @DoubleRange(min = 1e-3, max = 100) @Scale(4) double beta) {
        DpoPairs d = DpoLoss.pairs(new double[] {chosen, -1}, new double[] {rejected, -2}, new double[] {0, 0},
                new double[] {0, 0}, beta);
        assertThat(d.loss()).isFinite().isGreaterThanOrEqualTo(0);
        for (int i = 0; i < 2; i++) {
            assertThat(d.chosenCoefficients()[i]).isLessThanOrEqualTo(0).isGreaterThanOrEqualTo(-beta / 2);
            assertThat(d.rejectedCoefficients()[i]).isEqualTo(-d.chosenCoefficients()[i]);
        }
        double margin = chosen - rejected;
        if (margin != 0) {
            // the loss falls as the margin grows: moving along the chosen coefficient's negative lowers it
            assertThat(DpoLoss.pairs(new double[] {chosen + Math.abs(margin) * 1e-3 + 1e-3, -1}, new double[] {rejected, -2},
                    new double[] {0, 0}, new double[] {0, 0}, beta).loss()).isLessThanOrEqualTo(d.loss());
        }
    }

    @Test
    void equalPoliciesGiveLogTwoAndAccuracyCountsPositiveMargins() {
        DpoPairs d = DpoLoss.pairs(new double[] {-3, -1}, new double[] {-3, -4}, new double[] {-3, -2},
                new double[] {-3, -2}, 0.5);
        assertThat(d.pairs()).isEqualTo(2);
        assertThat(d.accuracy()).isEqualTo(0.5);
        assertThat(d.meanMargin()).isCloseTo((0 + 3) / 2.0, within(1e-15));
        assertThat(DpoLoss.pairs(new double[] {-1}, new double[] {-1}, new double[] {-1}, new double[] {-1}, 0.1).loss())
                .isCloseTo(Math.log(2), within(1e-15));
    }

    @Test
    void refusesWhatItCannotCompute() {
        assertThatThrownBy(() -> DpoLoss.pairs(new double[0], new double[0], new double[0], new double[0], 0.1))
                .hasMessageContaining(">= 1");
        assertThatThrownBy(() -> DpoLoss.pairs(new double[] {1}, new double[] {1}, new double[] {1}, new double[] {1}, 0))
                .hasMessageContaining("beta");
        assertThatThrownBy(() -> DpoLoss.pairs(new double[] {Double.NaN, 0}, new double[] {1, 0}, new double[] {1, 0},
                new double[] {1, 0}, 0.1)).hasMessageContaining("pair 0").hasMessageContaining("non-finite");
        assertThatThrownBy(() -> DpoLoss.surrogate(HiddenStates.of(3, 1, new float[3]), ImmutableIntArray.of(0, 0, 0),
                new double[3], new int[] {1, 1}, new double[] {1, 1})).hasMessageContaining("sum to 2");
        assertThat(NO_KL.kl().enabled()).isFalse();
    }

    private static void assertClose(Case c, String what, double[] actual, double[] expected) {
        assertThat(actual).as("%s: %s length", c, what).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("%s: %s[%d]", c, what, i).isCloseTo(expected[i], within(1e-10));
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }
}
