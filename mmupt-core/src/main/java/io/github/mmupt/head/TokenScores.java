package io.github.mmupt.head;

import com.google.common.primitives.ImmutableDoubleArray;

/**
 * Per-token log-probs of given targets and entropies of the temperature-scaled next-token distribution.
 *
 * @param logProbs  [T] log p(y_t), with p = softmax(z_t / temperature)
 * @param entropies [T] -sum_v p_v log p_v of the same distribution
 */
public record TokenScores(ImmutableDoubleArray logProbs, ImmutableDoubleArray entropies) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param logProbs the component {@code logProbs}, described with the class
     * @param entropies the component {@code entropies}, described with the class
     */
    public TokenScores {
        if (logProbs == null || entropies == null) {
            throw new IllegalArgumentException("logProbs and entropies must not be null");
        }
        if (logProbs.length() != entropies.length()) {
            throw new IllegalArgumentException("one entropy per log-prob: " + logProbs.length() + " vs "
                    + entropies.length());
        }
    }

    /** {@return T, the tokens scored} */
    public int tokens() {
        return logProbs.length();
    }
}
