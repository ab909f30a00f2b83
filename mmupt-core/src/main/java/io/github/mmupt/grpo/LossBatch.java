package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.policy.HiddenStates;

/**
 * The response tokens of one micro-batch, with everything the GRPO loss needs per token. All arrays have
 * one entry per row of {@code hidden} (T), sequences packed in order.
 *
 * @param hidden      [T x d] final hidden states predicting each token
 * @param targets     [T] the tokens
 * @param advantages  [T] the advantage of the token's sequence, repeated over its tokens
 * @param oldLogProbs [T] log-probs under the policy that sampled the tokens (ratio denominator)
 * @param refLogProbs [T] log-probs under the frozen reference policy; empty when the KL term is off
 * @param weights     [T] aggregation weights w_t &gt;= 0 from {@link LossAggregation} over the whole
 *                    mini-batch; 0 masks a token out
 */
public record LossBatch(HiddenStates hidden, ImmutableIntArray targets, ImmutableDoubleArray advantages,
        ImmutableDoubleArray oldLogProbs, ImmutableDoubleArray refLogProbs, ImmutableDoubleArray weights) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param hidden the component {@code hidden}, described with the class
     * @param targets the component {@code targets}, described with the class
     * @param advantages the component {@code advantages}, described with the class
     * @param oldLogProbs the component {@code oldLogProbs}, described with the class
     * @param refLogProbs the component {@code refLogProbs}, described with the class
     * @param weights the component {@code weights}, described with the class
     */
    public LossBatch {
        if (hidden == null || targets == null || advantages == null || oldLogProbs == null || refLogProbs == null
                || weights == null) {
            throw new IllegalArgumentException("LossBatch fields must not be null (use an empty refLogProbs)");
        }
        int t = hidden.tokens();
        requireLength("targets", targets.length(), t);
        requireLength("advantages", advantages.length(), t);
        requireLength("oldLogProbs", oldLogProbs.length(), t);
        requireLength("weights", weights.length(), t);
        if (!refLogProbs.isEmpty()) {
            requireLength("refLogProbs", refLogProbs.length(), t);
        }
        for (int i = 0; i < t; i++) {
            if (targets.get(i) < 0) {
                throw new IllegalArgumentException("targets[" + i + "] = " + targets.get(i) + " is negative");
            }
            requireFinite("advantages", i, advantages.get(i));
            requireFinite("oldLogProbs", i, oldLogProbs.get(i));
            requireFinite("weights", i, weights.get(i));
            if (weights.get(i) < 0) {
                throw new IllegalArgumentException("weights[" + i + "] = " + weights.get(i) + " is negative");
            }
            if (!refLogProbs.isEmpty()) {
                requireFinite("refLogProbs", i, refLogProbs.get(i));
            }
        }
    }

    private static void requireLength(String name, int actual, int tokens) {
        if (actual != tokens) {
            throw new IllegalArgumentException(name + " has " + actual + " entries, but hidden has " + tokens
                    + " rows (one per token)");
        }
    }

    private static void requireFinite(String name, int index, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(name + "[" + index + "] is " + value + "; inputs must be finite");
        }
    }

    /** {@return T, the tokens} */
    public int tokens() {
        return hidden.tokens();
    }

    /** {@return whether reference log-probs are present (needed by a KL term)} */
    public boolean hasRefLogProbs() {
        return !refLogProbs.isEmpty();
    }

    /**
     * Rows [from, to) as their own micro-batch; weights keep their mini-batch values.
     *
     * @param from first token
     * @param to end token (exclusive)
     * @return the tokens [from, to)
     */
    public LossBatch rows(int from, int to) {
        return new LossBatch(hidden.rows(from, to), targets.subArray(from, to), advantages.subArray(from, to),
                oldLogProbs.subArray(from, to), hasRefLogProbs() ? refLogProbs.subArray(from, to) : refLogProbs,
                weights.subArray(from, to));
    }
}
