package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

class KlPenaltyTest {

    @Property
    void derivativesMatchFiniteDifferences(@ForAll KlEstimator estimator,
            @ForAll @DoubleRange(min = -4, max = 4) double logProb, @ForAll @DoubleRange(min = -4, max = 4) double ref) {
        KlPenalty kl = new KlPenalty(1.0, estimator, false);
        double h = 1e-6;
        double numeric = (kl.value(logProb + h, ref) - kl.value(logProb - h, ref)) / (2 * h);
        assertThat(kl.derivative(logProb, ref)).isCloseTo(numeric, within(1e-5 * (1 + Math.abs(numeric))));
    }

    @Property
    void k3IsNeverNegativeAndZeroOnlyAtEquality(@ForAll @DoubleRange(min = -10, max = 10) double x) {
        assertThat(KlEstimator.K3.value(x)).isGreaterThanOrEqualTo(0.0);
        if (x != 0) {
            assertThat(KlEstimator.K3.value(x)).isPositive();
        }
    }

    @Test
    void easyR1ClampsBoundValueAndZeroTheGradient() {
        KlPenalty clamped = KlPenalty.mmUpt();
        // x = ref - logp = 3: e^3 - 4 = 16.1 > 10
        assertThat(clamped.value(0, 3)).isEqualTo(10.0);
        assertThat(clamped.derivative(0, 3)).isZero();
        // x = -25 is clamped to -20 first: e^-20 + 20 - 1 = 19 -> 10
        assertThat(clamped.value(0, -25)).isEqualTo(10.0);
        assertThat(clamped.derivative(0, -25)).isZero();
        // x = 1: unclamped
        assertThat(clamped.value(0, 1)).isCloseTo(Math.E - 2, within(1e-15));
        assertThat(clamped.derivative(0, 1)).isCloseTo(1 - Math.E, within(1e-15));
    }

    @Test
    void estimatorsHaveTheirTextbookValues() {
        assertThat(KlEstimator.K1.value(0.3)).isEqualTo(-0.3);
        assertThat(KlEstimator.K2.value(0.3)).isCloseTo(0.045, within(1e-15));
        assertThat(KlEstimator.K3.value(0.3)).isCloseTo(Math.exp(0.3) - 1.3, within(1e-15));
    }

    @Test
    void clampsOnlyBelongToK3() {
        assertThatThrownBy(() -> new KlPenalty(0.1, KlEstimator.K1, true)).hasMessageContaining("low_var_kl");
        assertThatThrownBy(() -> new KlPenalty(-0.1, KlEstimator.K3, false)).hasMessageContaining("beta");
        assertThat(KlPenalty.none().enabled()).isFalse();
    }
}
