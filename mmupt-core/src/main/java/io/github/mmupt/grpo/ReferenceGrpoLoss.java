package io.github.mmupt.grpo;

import io.github.mmupt.head.HeadGradients;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;

/**
 * The GRPO loss over a micro-batch in double precision: head forward, {@link TokenLoss} per token, weights
 * from the aggregation, then the head's backward with the per-token upstream gradient
 * g_t = w_t dL_t/dlogp_t. The oracle for the native kernel; slow by design (it recomputes logits).
 */
public final class ReferenceGrpoLoss {

    private ReferenceGrpoLoss() {
    }

    /**
     * Loss, metrics and gradients of {@code sum_t w_t L_t} for {@code batch} under {@code head}.
     *
     * @param head the head
     * @param batch the tokens, advantages and log-probs
     * @param config the loss settings
     * @return the loss, its statistics and gradients
     */
    public static LossResult compute(ReferenceHead head, LossBatch batch, GrpoLossConfig config) {
        if (config.kl().enabled() && !batch.hasRefLogProbs()) {
            throw new IllegalArgumentException("the KL term is on (beta = " + config.kl().beta()
                    + ") but the batch has no reference log-probs");
        }
        if (batch.hidden().hiddenSize() != head.shape().hiddenSize()) {
            throw new IllegalArgumentException("hidden states have width " + batch.hidden().hiddenSize()
                    + " but the head expects d = " + head.shape().hiddenSize());
        }
        return compute(head, batch.hidden().toDoubleArray(), batch, config);
    }

    /**
     * As {@link #compute(ReferenceHead, LossBatch, GrpoLossConfig)}, with the hidden states taken from
     * {@code hidden} [T x d] in double precision instead of the batch's float32 states (for finite
     * differences).
     */
    static LossResult compute(ReferenceHead head, double[] hidden, LossBatch batch, GrpoLossConfig config) {
        int[] targets = batch.targets().toArray();
        TokenScores scores = head.score(hidden, targets, config.temperature());
        int tokens = batch.tokens();
        double[] upstream = new double[tokens];
        double loss = 0;
        double policyLoss = 0;
        double klLoss = 0;
        long active = 0;
        double klSum = 0;
        double entropySum = 0;
        double driftSum = 0;
        long high = 0;
        long low = 0;
        long dual = 0;
        for (int t = 0; t < tokens; t++) {
            double w = batch.weights().get(t);
            if (w == 0) {
                continue;
            }
            double logProb = scores.logProbs().get(t);
            double ref = batch.hasRefLogProbs() ? batch.refLogProbs().get(t) : 0.0;
            TokenLoss tl = TokenLoss.of(config, logProb, batch.oldLogProbs().get(t), ref, batch.advantages().get(t));
            upstream[t] = w * tl.gradient();
            loss += w * tl.loss();
            policyLoss += w * tl.policyLoss();
            klLoss += w * config.kl().beta() * tl.kl();
            active++;
            klSum += tl.kl();
            entropySum += scores.entropies().get(t);
            driftSum += batch.oldLogProbs().get(t) - logProb;
            switch (tl.region()) {
                case HIGH -> high++;
                case LOW -> low++;
                case DUAL -> dual++;
                default -> {
                }
            }
        }
        HeadGradients gradients = head.backward(hidden, targets, config.temperature(), upstream);
        LossMetrics metrics = new LossMetrics(loss, policyLoss, klLoss, active, klSum, entropySum, driftSum,
                high, low, dual);
        return new LossResult(metrics, scores, upstream, gradients);
    }
}
