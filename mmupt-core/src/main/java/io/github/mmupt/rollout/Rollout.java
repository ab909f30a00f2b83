package io.github.mmupt.rollout;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import java.util.Optional;

/**
 * One sampled response: its tokens, the log-probability the sampling policy gave each token, its decoded
 * text and the final answer extracted from that text.
 *
 * <p>Log-probs are of the temperature-scaled distribution the token was drawn from (MM-UPT's convention:
 * logits divided by the sampling temperature), so the same head scoring the same tokens gives the same
 * values. Each must be finite and not above zero: a positive log-prob means a broken head (verl#2656). The one
 * exception marks a corrupt model output: a {@link FinishReason#NON_FINITE} rollout's last log-prob is NaN.
 *
 * @param tokenIds [L] response token ids, ending with the stop token when {@code finish} is STOP
 * @param logProbs [L] log-prob of each token under the sampling policy; empty when not recorded (evaluation
 *                 sampling, which needs only the text)
 * @param text     the decoded response, without special tokens
 * @param answer   the extracted final answer; empty when the response has none
 * @param finish   why sampling stopped
 */
public record Rollout(ImmutableIntArray tokenIds, ImmutableDoubleArray logProbs, String text,
        Optional<String> answer, FinishReason finish) {

    /** Slack above zero allowed for a log-prob, for the rounding of a float log-softmax. */
    static final double LOG_PROB_SLACK = 1e-6;

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param tokenIds the component {@code tokenIds}, described with the class
     * @param logProbs the component {@code logProbs}, described with the class
     * @param text the component {@code text}, described with the class
     * @param answer the component {@code answer}, described with the class
     * @param finish the component {@code finish}, described with the class
     */
    public Rollout {
        if (tokenIds == null || logProbs == null || text == null || answer == null || finish == null) {
            throw new IllegalArgumentException("Rollout fields must not be null");
        }
        if (tokenIds.isEmpty()) {
            throw new IllegalArgumentException("a rollout must have at least one token");
        }
        if (!logProbs.isEmpty() && logProbs.length() != tokenIds.length()) {
            throw new IllegalArgumentException("a rollout needs one log-prob per token: " + tokenIds.length()
                    + " tokens, " + logProbs.length() + " log-probs");
        }
        for (int i = 0; i < tokenIds.length(); i++) {
            if (tokenIds.get(i) < 0) {
                throw new IllegalArgumentException("token " + i + " has negative id " + tokenIds.get(i));
            }
        }
        for (int i = 0; i < logProbs.length(); i++) {
            double lp = logProbs.get(i);
            boolean markedCorrupt = Double.isNaN(lp) && finish == FinishReason.NON_FINITE && i == logProbs.length() - 1;
            if (!markedCorrupt && (!Double.isFinite(lp) || lp > LOG_PROB_SLACK)) {
                throw new IllegalArgumentException("log-prob of token " + i + " must be finite and <= 0, got " + lp);
            }
        }
    }

    /** {@return the number of tokens} */
    public int length() {
        return tokenIds.length();
    }

    /** {@return whether log-probs were recorded} */
    public boolean hasLogProbs() {
        return !logProbs.isEmpty();
    }

    /** {@return whether the response was cut off by the length limit} */
    public boolean truncated() {
        return finish == FinishReason.LENGTH;
    }
}
