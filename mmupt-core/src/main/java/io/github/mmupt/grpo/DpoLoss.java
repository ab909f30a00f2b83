package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.policy.HiddenStates;
import java.util.Arrays;

/**
 * The DPO loss (Rafailov et al., 2023) of preference pairs from their sequence log-probs, in double precision:
 * the reference the native kernel's {@code mmupt_dpo_pairs} is checked against, and what
 * {@link GrpoOptimizer#dpoPairs} computes by default. Per pair,
 * <pre>
 *   m = (logp(chosen) - ref(chosen)) - (logp(rejected) - ref(rejected))
 *   L = -log sigmoid(beta m) = softplus(-beta m),   dL/dlogp(chosen) = -beta sigmoid(-beta m) = -dL/dlogp(rejected)
 * </pre>
 * averaged over the P pairs (so the coefficients carry 1/P). Softplus and sigmoid are evaluated in forms that do
 * not overflow for any finite margin.
 *
 * <pre>{@code
 * DpoPairs d = DpoLoss.pairs(new double[] {-3}, new double[] {-5}, new double[] {-4}, new double[] {-4}, 0.1);
 * d.loss();   // softplus(-0.2) = 0.598
 * }</pre>
 */
public final class DpoLoss {

    private DpoLoss() {
    }

    /**
     * The loss and coefficients of P pairs.
     *
     * @param chosen the policy's log-prob of each chosen response (sum over its tokens)
     * @param rejected the policy's log-prob of each rejected response
     * @param refChosen the reference policy's log-prob of each chosen response
     * @param refRejected the reference policy's log-prob of each rejected response
     * @param beta DPO's temperature, > 0
     * @return the loss, coefficients and statistics
     * @throws IllegalArgumentException on mismatched lengths, no pairs, a bad beta or a non-finite log-prob (named)
     */
    public static DpoPairs pairs(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected, double beta) {
        int n = pairCount(chosen, rejected, refChosen, refRejected);
        if (!(beta > 0 && Double.isFinite(beta))) {
            throw new IllegalArgumentException("DPO's beta must be finite and > 0, got " + beta);
        }
        double loss = 0;
        double margins = 0;
        int right = 0;
        double[] c = new double[n];
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            double m = (chosen[i] - refChosen[i]) - (rejected[i] - refRejected[i]);
            if (!Double.isFinite(m)) {
                throw new IllegalArgumentException("pair " + i + " has a non-finite log-prob (chosen " + chosen[i]
                        + ", rejected " + rejected[i] + ", reference " + refChosen[i] + ", " + refRejected[i] + ")");
            }
            double x = beta * m;
            if (!Double.isFinite(x)) {
                throw new IllegalArgumentException("pair " + i + ": beta " + beta + " times its margin " + m + " overflows");
            }
            loss += softplus(-x);
            double g = beta * sigmoid(-x) / n;
            c[i] = -g;
            r[i] = g;
            margins += m;
            right += m > 0 ? 1 : 0;
        }
        return new DpoPairs(loss / n, c, r, margins / n, (double) right / n);
    }

    /**
     * The number of pairs four log-prob arrays describe, checked (every implementation of
     * {@link GrpoOptimizer#dpoPairs} refuses the same inputs the same way).
     *
     * @param chosen the policy's log-prob of each chosen response
     * @param rejected the policy's log-prob of each rejected response
     * @param refChosen the reference's log-prob of each chosen response
     * @param refRejected the reference's log-prob of each rejected response
     * @return the number of pairs, at least 1
     * @throws IllegalArgumentException when the lengths differ or are 0
     */
    public static int pairCount(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected) {
        int n = chosen.length;
        if (n == 0 || rejected.length != n || refChosen.length != n || refRejected.length != n) {
            throw new IllegalArgumentException("DPO needs the same number (>= 1) of chosen, rejected, reference-chosen "
                    + "and reference-rejected log-probs, got " + n + ", " + rejected.length + ", " + refChosen.length
                    + ", " + refRejected.length);
        }
        return n;
    }

    /**
     * The loss batch whose GRPO loss has DPO's gradient: at ratio 1 (old log-probs = the current ones) with
     * advantage {@code -c} on every token of a sequence whose coefficient is {@code c}, weight 1 and no KL term,
     * {@code dL/dlogp_t = c}, which is what DPO's chain rule asks of each token. The kernel's train mode then gives
     * the head's and the hidden states' gradients, for the native kernel and the reference alike.
     *
     * @param hidden the sequences' hidden states, [tokens x d]
     * @param targets their tokens
     * @param currentLogProbs the current head's log-prob of each token (as scored, so the ratio is exactly 1)
     * @param lengths each sequence's length in tokens, in order (they sum to the tokens)
     * @param coefficients each sequence's {@code dL/dlogp} ({@link DpoPairs})
     * @return the batch
     */
    public static LossBatch surrogate(HiddenStates hidden, ImmutableIntArray targets, double[] currentLogProbs,
            int[] lengths, double[] coefficients) {
        if (lengths.length != coefficients.length) {
            throw new IllegalArgumentException(lengths.length + " sequence lengths but " + coefficients.length
                    + " coefficients");
        }
        double[] advantages = new double[targets.length()];
        int at = 0;
        for (int q = 0; q < lengths.length; q++) {
            if (lengths[q] < 0 || at + lengths[q] > advantages.length) {
                throw new IllegalArgumentException("the sequence lengths " + Arrays.toString(lengths) + " do not fit "
                        + advantages.length + " tokens");
            }
            Arrays.fill(advantages, at, at + lengths[q], -coefficients[q]);
            at += lengths[q];
        }
        if (at != advantages.length) {
            throw new IllegalArgumentException("the sequence lengths sum to " + at + ", the batch has "
                    + advantages.length + " tokens");
        }
        double[] ones = new double[advantages.length];
        Arrays.fill(ones, 1.0);
        return new LossBatch(hidden, targets, ImmutableDoubleArray.copyOf(advantages),
                ImmutableDoubleArray.copyOf(currentLogProbs), ImmutableDoubleArray.of(), ImmutableDoubleArray.copyOf(ones));
    }

    /** log(1 + e^x) without overflow. */
    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    /** 1 / (1 + e^-x) without overflow. */
    static double sigmoid(double x) {
        if (x >= 0) {
            return 1.0 / (1.0 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1.0 + e);
    }
}
