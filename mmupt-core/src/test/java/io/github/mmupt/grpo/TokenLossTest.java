package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

class TokenLossTest {

    private static final GrpoLossConfig NO_KL = GrpoLossConfig.builder().kl(KlPenalty.none()).build();

    @Test
    void onPolicyLossIsMinusAdvantageWithFullGradient() {
        TokenLoss t = TokenLoss.of(NO_KL, -1.2, -1.2, 0, 0.8);
        assertThat(t.ratio()).isEqualTo(1.0);
        assertThat(t.loss()).isCloseTo(-0.8, within(1e-15));
        assertThat(t.gradient()).isCloseTo(-0.8, within(1e-15));
        assertThat(t.region()).isEqualTo(ClipRegion.NONE);
    }

    @Test
    void highClipBindsForPositiveAdvantageAboveOnePlusHigh() {
        double logRatio = Math.log(1.5); // above 1 + 0.3
        TokenLoss t = TokenLoss.of(NO_KL, logRatio, 0, 0, 2.0);
        assertThat(t.region()).isEqualTo(ClipRegion.HIGH);
        assertThat(t.gradient()).isZero();
        assertThat(t.loss()).isCloseTo(-2.0 * 1.3, within(1e-12));
    }

    @Test
    void lowClipBindsForNegativeAdvantageBelowOneMinusLow() {
        double logRatio = Math.log(0.5); // below 1 - 0.2
        TokenLoss t = TokenLoss.of(NO_KL, logRatio, 0, 0, -1.0);
        assertThat(t.region()).isEqualTo(ClipRegion.LOW);
        assertThat(t.gradient()).isZero();
        assertThat(t.loss()).isCloseTo(0.8, within(1e-12));
    }

    @Test
    void dualClipBoundsNegativeAdvantageLoss() {
        double logRatio = Math.log(5.0); // above the dual clip 3
        TokenLoss t = TokenLoss.of(NO_KL, logRatio, 0, 0, -1.0);
        assertThat(t.region()).isEqualTo(ClipRegion.DUAL);
        assertThat(t.gradient()).isZero();
        assertThat(t.loss()).isCloseTo(3.0, within(1e-12));
    }

    @Test
    void unclippedSidesKeepTheirGradient() {
        // A > 0 with a small ratio and A < 0 with a ratio above 1 + high but below the dual clip: not clipped
        TokenLoss smallRatio = TokenLoss.of(NO_KL, Math.log(0.5), 0, 0, 1.0);
        assertThat(smallRatio.region()).isEqualTo(ClipRegion.NONE);
        assertThat(smallRatio.gradient()).isCloseTo(-0.5, within(1e-12));
        TokenLoss largeRatio = TokenLoss.of(NO_KL, Math.log(2.0), 0, 0, -1.0);
        assertThat(largeRatio.region()).isEqualTo(ClipRegion.NONE);
        assertThat(largeRatio.gradient()).isCloseTo(2.0, within(1e-12));
    }

    @Test
    void klTermAddsBetaTimesEstimateAndItsDerivative() {
        GrpoLossConfig config = GrpoLossConfig.builder().kl(new KlPenalty(0.5, KlEstimator.K3, false)).build();
        double logProb = -1.0;
        double ref = -0.7;
        TokenLoss t = TokenLoss.of(config, logProb, logProb, ref, 0.0);
        double x = ref - logProb;
        assertThat(t.kl()).isCloseTo(Math.exp(x) - x - 1, within(1e-15));
        assertThat(t.loss()).isCloseTo(0.5 * t.kl(), within(1e-15));
        assertThat(t.gradient()).isCloseTo(0.5 * (1 - Math.exp(x)), within(1e-15));
    }

    @Property
    void clippedSurrogateIsBounded(@ForAll @DoubleRange(min = -3, max = 3) double logRatio,
            @ForAll @DoubleRange(min = -5, max = 5) double advantage) {
        ClipRange clip = ClipRange.mmUpt();
        TokenLoss t = TokenLoss.of(NO_KL, logRatio, 0, 0, advantage);
        double r = Math.exp(logRatio);
        // Never below the clipped objective's floor, never above the unclipped loss...
        assertThat(t.policyLoss()).isGreaterThanOrEqualTo(-advantage * Math.min(r, 1 + clip.high()) - 1e-12);
        if (advantage >= 0) {
            // ...a positive advantage can lower the loss by at most A (1 + high)
            assertThat(t.policyLoss()).isGreaterThanOrEqualTo(-advantage * (1 + clip.high()) - 1e-12);
        } else {
            // ...and a negative advantage costs at most |A| times the dual clip
            assertThat(t.policyLoss()).isLessThanOrEqualTo(-advantage * clip.dualClip() + 1e-12);
        }
        // The gradient is either the unclipped one or zero, and zero exactly where a clip binds.
        if (t.region() == ClipRegion.NONE) {
            assertThat(t.gradient()).isCloseTo(-advantage * r, within(1e-12));
        } else {
            assertThat(t.gradient()).isZero();
        }
    }

    @Property
    void surrogateIsPessimistic(@ForAll @DoubleRange(min = -3, max = 3) double logRatio,
            @ForAll @DoubleRange(min = -5, max = 5) double advantage) {
        // PPO's max(...) never reports less loss than the unclipped objective, except where the dual clip caps it
        TokenLoss t = TokenLoss.of(NO_KL, logRatio, 0, 0, advantage);
        double unclipped = -advantage * Math.exp(logRatio);
        if (t.region() != ClipRegion.DUAL) {
            assertThat(t.policyLoss()).isGreaterThanOrEqualTo(unclipped - 1e-12);
        }
    }

    @Test
    void clipRangeValidatesItsBounds() {
        assertThatThrownBy(() -> new ClipRange(1.0, 0.2, 3)).hasMessageContaining("clip low");
        assertThatThrownBy(() -> new ClipRange(0.2, -0.1, 3)).hasMessageContaining("clip high");
        assertThatThrownBy(() -> new ClipRange(0.2, 0.2, 0.9)).hasMessageContaining("dual clip");
        assertThat(ClipRange.symmetric(0.2).hasDualClip()).isFalse();
    }
}
