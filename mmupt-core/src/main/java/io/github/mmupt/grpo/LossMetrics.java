package io.github.mmupt.grpo;

/**
 * What a loss evaluation measured, as sums so that micro-batches add up: {@code a.plus(b)} is what one
 * evaluation over both would report. Token statistics count the active tokens (weight &gt; 0) only.
 *
 * @param loss           sum_t w_t L_t: the loss the gradient is of
 * @param policyLoss     sum_t w_t pg_t
 * @param klLoss         sum_t w_t beta kl_t
 * @param tokens         active tokens
 * @param klSum          sum of kl_t (before beta) over active tokens
 * @param entropySum     sum of the entropies over active tokens
 * @param driftSum       sum of (logp_old - logp) over active tokens: MM-UPT's "ppo_kl"
 * @param clippedHigh    active tokens with {@link ClipRegion#HIGH}
 * @param clippedLow     active tokens with {@link ClipRegion#LOW}
 * @param clippedDual    active tokens with {@link ClipRegion#DUAL}
 */
public record LossMetrics(double loss, double policyLoss, double klLoss, long tokens, double klSum,
        double entropySum, double driftSum, long clippedHigh, long clippedLow, long clippedDual) {

    /** Nothing measured: the identity of {@link #plus}. */
    public static final LossMetrics EMPTY = new LossMetrics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param loss the component {@code loss}, described with the class
     * @param policyLoss the component {@code policyLoss}, described with the class
     * @param klLoss the component {@code klLoss}, described with the class
     * @param tokens the component {@code tokens}, described with the class
     * @param klSum the component {@code klSum}, described with the class
     * @param entropySum the component {@code entropySum}, described with the class
     * @param driftSum the component {@code driftSum}, described with the class
     * @param clippedHigh the component {@code clippedHigh}, described with the class
     * @param clippedLow the component {@code clippedLow}, described with the class
     * @param clippedDual the component {@code clippedDual}, described with the class
     */
    public LossMetrics {
        if (tokens < 0 || clippedHigh < 0 || clippedLow < 0 || clippedDual < 0
                || clippedHigh + clippedLow + clippedDual > tokens) {
            throw new IllegalArgumentException("token counts must be >= 0 and clipped tokens at most the tokens ("
                    + tokens + "), got high " + clippedHigh + ", low " + clippedLow + ", dual " + clippedDual);
        }
    }

    /**
     * The statistics of two evaluations together.
     *
     * @param o the other
     * @return the sums
     */
    public LossMetrics plus(LossMetrics o) {
        return new LossMetrics(loss + o.loss, policyLoss + o.policyLoss, klLoss + o.klLoss, tokens + o.tokens,
                klSum + o.klSum, entropySum + o.entropySum, driftSum + o.driftSum, clippedHigh + o.clippedHigh,
                clippedLow + o.clippedLow, clippedDual + o.clippedDual);
    }

    /** {@return whether the loss and every sum is finite} */
    public boolean isFinite() {
        return Double.isFinite(loss) && Double.isFinite(policyLoss) && Double.isFinite(klLoss)
                && Double.isFinite(klSum) && Double.isFinite(entropySum) && Double.isFinite(driftSum);
    }

    /** {@return the mean KL estimate per active token (NaN without tokens)} */
    public double klMean() {
        return mean(klSum);
    }

    /** {@return the mean entropy per active token} */
    public double entropyMean() {
        return mean(entropySum);
    }

    /** {@return the mean log pi_old - log pi per active token: MM-UPT's ppo_kl} */
    public double driftMean() {
        return mean(driftSum);
    }

    /** {@return the share of active tokens clipped above} */
    public double clipFractionHigh() {
        return mean(clippedHigh);
    }

    /** {@return the share of active tokens clipped below} */
    public double clipFractionLow() {
        return mean(clippedLow);
    }

    /** {@return the share of active tokens dual-clipped} */
    public double clipFractionDual() {
        return mean(clippedDual);
    }

    private double mean(double sum) {
        return tokens == 0 ? 0.0 : sum / tokens;
    }
}
