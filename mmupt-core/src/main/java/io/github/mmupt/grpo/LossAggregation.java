package io.github.mmupt.grpo;

/**
 * How per-token losses of a mini-batch become one scalar: each variant gives every token a weight w_t and
 * the loss is {@code sum_t w_t L_t}. Weights are computed once for the whole mini-batch (all sequences of one
 * optimizer step), so splitting it into micro-batches and summing their gradients gives exactly the same
 * update as one pass (the "1 x k equals k x 1" invariant).
 *
 * <p>With S sequences of lengths n_s (counting only sequences with at least one token) and N = sum n_s:
 * <ul>
 *   <li>{@link #TOKEN_MEAN}: w = 1 / N. Every token counts the same; long responses weigh more. The default
 *       in verl/EasyR1 ("token-mean") and close to MM-UPT, which takes the token mean per micro-batch of 4
 *       sequences and then averages micro-batches.</li>
 *   <li>{@link #SEQ_MEAN_TOKEN_MEAN}: w = 1 / (S n_s). Each sequence counts the same (original GRPO,
 *       TRL's "grpo" loss type); biased towards short responses (Dr. GRPO's critique).</li>
 *   <li>{@link #SEQ_MEAN_TOKEN_SUM}: w = 1 / S. Sum over a sequence, mean over sequences.</li>
 *   <li>{@link #CONSTANT_NORMALIZER}: w = 1 / (S L), L a fixed length such as the maximum response length
 *       (Dr. GRPO, Liu et al. 2025): no length bias, at the cost of a scale that depends on L.</li>
 * </ul>
 */
public enum LossAggregation {
    /** Every token weighs 1 / N (verl and EasyR1 "token-mean"). */
    TOKEN_MEAN {
        @Override
        double weight(int sequenceLength, int sequences, long tokens, int normalizerLength) {
            return 1.0 / tokens;
        }
    },
    /** Every sequence weighs the same (original GRPO). */
    SEQ_MEAN_TOKEN_MEAN {
        @Override
        double weight(int sequenceLength, int sequences, long tokens, int normalizerLength) {
            return 1.0 / ((double) sequences * sequenceLength);
        }
    },
    /** Sum over a sequence, mean over sequences. */
    SEQ_MEAN_TOKEN_SUM {
        @Override
        double weight(int sequenceLength, int sequences, long tokens, int normalizerLength) {
            return 1.0 / sequences;
        }
    },
    /** Sum divided by sequences x a fixed length (Dr. GRPO). */
    CONSTANT_NORMALIZER {
        @Override
        double weight(int sequenceLength, int sequences, long tokens, int normalizerLength) {
            return 1.0 / ((double) sequences * normalizerLength);
        }
    };

    /** Weight of each token of a sequence of {@code sequenceLength} >= 1 tokens. */
    abstract double weight(int sequenceLength, int sequences, long tokens, int normalizerLength);

    /**
     * The weight of every token of a mini-batch, sequences packed in order.
     *
     * @param sequenceLengths  [S] tokens per sequence, each &gt;= 0
     * @param normalizerLength L for {@link #CONSTANT_NORMALIZER} (&gt;= every sequence length); ignored by the
     *                         others
     * @return [sum of lengths] weights; all zero if there are no tokens
     */
    public double[] tokenWeights(int[] sequenceLengths, int normalizerLength) {
        if (sequenceLengths == null) {
            throw new IllegalArgumentException("sequenceLengths must not be null");
        }
        long tokens = 0;
        int sequences = 0;
        int longest = 0;
        for (int s = 0; s < sequenceLengths.length; s++) {
            int n = sequenceLengths[s];
            if (n < 0) {
                throw new IllegalArgumentException("sequence " + s + " has negative length " + n);
            }
            tokens += n;
            longest = Math.max(longest, n);
            if (n > 0) {
                sequences++;
            }
        }
        if (tokens > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a mini-batch of " + tokens + " tokens is too large");
        }
        if (this == CONSTANT_NORMALIZER && normalizerLength < longest) {
            throw new IllegalArgumentException("CONSTANT_NORMALIZER needs a normalizer length >= the longest "
                    + "sequence (" + longest + "), got " + normalizerLength);
        }
        double[] weights = new double[(int) tokens];
        int at = 0;
        for (int n : sequenceLengths) {
            if (n == 0) {
                continue;
            }
            double w = weight(n, sequences, tokens, normalizerLength);
            for (int i = 0; i < n; i++) {
                weights[at++] = w;
            }
        }
        return weights;
    }
}
