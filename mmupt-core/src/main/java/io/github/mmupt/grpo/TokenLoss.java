package io.github.mmupt.grpo;

/**
 * The GRPO loss of one token and its derivative with respect to the token's log-prob: the per-token
 * upstream gradient that the head's backward pass (and the native kernel) multiplies into the logits.
 *
 * <pre>
 *   r    = exp(logp - logp_old)
 *   pg   = max(-A r, -A clip(r, 1 - low, 1 + high)),  then min(pg, -A c) when A &lt; 0   (ClipRange)
 *   kl   = estimator(logp_ref - logp)                                               (KlPenalty)
 *   L    = pg + beta kl
 *   dL/dlogp = (region == NONE ? -A r : 0) + beta dkl/dlogp
 * </pre>
 *
 * @param loss       L, unweighted
 * @param gradient   dL/dlogp, unweighted
 * @param policyLoss pg
 * @param kl         the KL estimate (before beta); 0 when the penalty is off
 * @param ratio      r
 * @param region     which clip bound, if any
 */
public record TokenLoss(double loss, double gradient, double policyLoss, double kl, double ratio, ClipRegion region) {

    /**
     * Evaluates one token.
     *
     * @param refLogProb ignored when {@code config.kl()} is off
     * @param config the loss settings
     * @param logProb log pi of the token under the current head
     * @param oldLogProb its log-prob under the sampling head
     * @param advantage the advantage of its sequence
     * @return the token's loss terms, clip region and upstream gradient
     */
    public static TokenLoss of(GrpoLossConfig config, double logProb, double oldLogProb, double refLogProb,
            double advantage) {
        ClipRange clip = config.clip();
        double ratio = Math.exp(logProb - oldLogProb);
        double unclipped = -advantage * ratio;
        double clippedRatio = Math.max(1 - clip.low(), Math.min(1 + clip.high(), ratio));
        double pg = Math.max(unclipped, -advantage * clippedRatio);
        ClipRegion region = ClipRegion.NONE;
        if (advantage > 0 && ratio > 1 + clip.high()) {
            region = ClipRegion.HIGH;
        } else if (advantage < 0 && ratio < 1 - clip.low()) {
            region = ClipRegion.LOW;
        }
        if (advantage < 0 && clip.hasDualClip()) {
            pg = Math.min(pg, -advantage * clip.dualClip());
            if (ratio > clip.dualClip()) {
                region = ClipRegion.DUAL;
            }
        }
        double gradient = region == ClipRegion.NONE ? unclipped : 0.0;
        double kl = 0;
        KlPenalty penalty = config.kl();
        if (penalty.enabled()) {
            kl = penalty.value(logProb, refLogProb);
            gradient += penalty.beta() * penalty.derivative(logProb, refLogProb);
        }
        return new TokenLoss(pg + penalty.beta() * kl, gradient, pg, kl, ratio, region);
    }
}
