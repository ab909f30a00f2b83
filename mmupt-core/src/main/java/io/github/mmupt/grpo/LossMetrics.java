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

    public static final LossMetrics EMPTY = new LossMetrics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    public LossMetrics {
        if (tokens < 0 || clippedHigh < 0 || clippedLow < 0 || clippedDual < 0
                || clippedHigh + clippedLow + clippedDual > tokens) {
            throw new IllegalArgumentException("token counts must be >= 0 and clipped tokens at most the tokens ("
                    + tokens + "), got high " + clippedHigh + ", low " + clippedLow + ", dual " + clippedDual);
        }
    }

    public LossMetrics plus(LossMetrics o) {
        return new LossMetrics(loss + o.loss, policyLoss + o.policyLoss, klLoss + o.klLoss, tokens + o.tokens,
                klSum + o.klSum, entropySum + o.entropySum, driftSum + o.driftSum, clippedHigh + o.clippedHigh,
                clippedLow + o.clippedLow, clippedDual + o.clippedDual);
    }

    /** Whether the loss and every sum is finite. */
    public boolean isFinite() {
        return Double.isFinite(loss) && Double.isFinite(policyLoss) && Double.isFinite(klLoss)
                && Double.isFinite(klSum) && Double.isFinite(entropySum) && Double.isFinite(driftSum);
    }

    public double klMean() {
        return mean(klSum);
    }

    public double entropyMean() {
        return mean(entropySum);
    }

    public double driftMean() {
        return mean(driftSum);
    }

    public double clipFractionHigh() {
        return mean(clippedHigh);
    }

    public double clipFractionLow() {
        return mean(clippedLow);
    }

    public double clipFractionDual() {
        return mean(clippedDual);
    }

    private double mean(double sum) {
        return tokens == 0 ? 0.0 : sum / tokens;
    }
}
