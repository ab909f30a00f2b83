package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.github.mmupt.head.HeadGradients;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The double-precision reference against golden vectors from the independent NumPy script. */
class GoldenVectorsTest {

    /** Both sides compute in float64 from identical inputs; only summation order differs. */
    private static final double TOLERANCE = 1e-10;

    static List<GoldenCase> cases() {
        return GoldenCase.load();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aggregationWeightsMatch(GoldenCase c) {
        double[] weights = c.config().tokenWeights(c.lengths());
        double[] golden = c.array("weights");
        for (int t = 0; t < weights.length; t++) {
            if (golden[t] != 0) { // masked rows are zeroed by the script after aggregation
                assertThat(weights[t]).as("%s: weight of token %d", c, t).isCloseTo(golden[t], within(1e-15));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void referenceLossMatchesGolden(GoldenCase c) {
        LossResult r = ReferenceGrpoLoss.compute(c.head(), c.batch(), c.config());
        assertThat(r.metrics().loss()).as("%s: loss", c).isCloseTo(c.expectedLoss(), within(TOLERANCE));
        assertClose(c, "logProbs", r.scores().logProbs().toArray(), c.expected("logProbs"));
        assertClose(c, "entropies", r.scores().entropies().toArray(), c.expected("entropies"));
        assertClose(c, "upstream", r.upstream(), c.expected("upstream"));
        HeadGradients g = r.gradients();
        assertClose(c, "gradHidden", g.hidden(), c.expected("gradHidden"));
        if (c.shape().isLora()) {
            assertClose(c, "gradLoraA", g.loraA(), c.expected("gradLoraA"));
            assertClose(c, "gradLoraB", g.loraB(), c.expected("gradLoraB"));
        } else {
            assertClose(c, "gradWeight", g.weight(), c.expected("gradWeight"));
        }
    }

    private static void assertClose(GoldenCase c, String what, double[] actual, double[] expected) {
        assertThat(actual).as("%s: %s length", c, what).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("%s: %s[%d]", c, what, i).isCloseTo(expected[i], within(TOLERANCE));
        }
    }
}
