package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {

    @Test
    void firstStepMovesEachParameterByLearningRateAgainstTheGradientSign() {
        // With bias correction, step 1 gives m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps).
        AdamWConfig config = AdamWConfig.builder().learningRate(0.1).weightDecay(0).build();
        double[] p = {1.0, -2.0, 0.5};
        double[] g = {0.3, -4.0, 0.0};
        AdamW.step(p, g, new double[3], new double[3], 1, config);
        assertThat(p[0]).isCloseTo(0.9, within(1e-7));
        assertThat(p[1]).isCloseTo(-1.9, within(1e-7));
        assertThat(p[2]).isEqualTo(0.5);
    }

    @Test
    void decoupledWeightDecayShrinksParametersWithoutGradient() {
        AdamWConfig config = AdamWConfig.builder().learningRate(0.1).weightDecay(0.5).build();
        double[] p = {2.0};
        AdamW.step(p, new double[1], new double[1], new double[1], 1, config);
        assertThat(p[0]).isCloseTo(2.0 * (1 - 0.1 * 0.5), within(1e-15));
    }

    @Test
    void twoStepsMatchHandComputedMoments() {
        AdamWConfig config = AdamWConfig.builder().learningRate(0.01).betas(0.9, 0.999).epsilon(1e-8)
                .weightDecay(0.01).build();
        double[] p = {1.0};
        double[] m = new double[1];
        double[] v = new double[1];
        AdamW.step(p, new double[] {0.5}, m, v, 1, config);
        AdamW.step(p, new double[] {-0.25}, m, v, 2, config);
        // by hand
        double param = 1.0;
        double mm = 0;
        double vv = 0;
        double[] gs = {0.5, -0.25};
        for (int t = 1; t <= 2; t++) {
            double grad = gs[t - 1];
            param *= 1 - 0.01 * 0.01;
            mm = 0.9 * mm + 0.1 * grad;
            vv = 0.999 * vv + 0.001 * grad * grad;
            param -= 0.01 * (mm / (1 - Math.pow(0.9, t))) / (Math.sqrt(vv / (1 - Math.pow(0.999, t))) + 1e-8);
        }
        assertThat(p[0]).isCloseTo(param, within(1e-15));
        assertThat(m[0]).isCloseTo(mm, within(1e-15));
        assertThat(v[0]).isCloseTo(vv, within(1e-15));
    }

    @Test
    void mismatchedTensorsAreRejected() {
        assertThatThrownBy(() -> AdamW.step(new double[2], new double[3], new double[2], new double[2], 1,
                AdamWConfig.mmUpt())).hasMessageContaining("same length");
        assertThatThrownBy(() -> AdamW.step(new double[1], new double[1], new double[1], new double[1], 0,
                AdamWConfig.mmUpt())).hasMessageContaining("1-based");
    }

    @Test
    void globalNormClippingScalesAllTensorsTogether() {
        double[] a = {3.0, 0.0};
        double[] b = {4.0};
        GradientClipping.Result r = GradientClipping.clipGlobalNorm(List.of(a, b), 1.0);
        assertThat(r.norm()).isEqualTo(5.0);
        assertThat(r.clipped()).isTrue();
        assertThat(a[0]).isCloseTo(3.0 / (5.0 + 1e-6), within(1e-15));
        assertThat(b[0]).isCloseTo(4.0 / (5.0 + 1e-6), within(1e-15));
    }

    @Test
    void smallNormsAreLeftAloneAndNonFiniteNormsAreReported() {
        double[] a = {0.3, 0.4};
        GradientClipping.Result small = GradientClipping.clipGlobalNorm(List.of(a), 1.0);
        assertThat(small.clipped()).isFalse();
        assertThat(a).containsExactly(0.3, 0.4);
        double[] bad = {1.0, Double.NaN};
        GradientClipping.Result nan = GradientClipping.clipGlobalNorm(List.of(bad), 1.0);
        assertThat(nan.finite()).isFalse();
        assertThat(bad[0]).isEqualTo(1.0);
    }
}
