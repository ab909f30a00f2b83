package io.github.mmupt.vote;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of voting over one prompt's N responses.
 *
 * <p>Answers are grouped into classes of equivalent answers, numbered in the order their first member was
 * sampled. {@code answerClass} maps each response to its class ({@code -1} for a response with no answer);
 * {@code classVotes} counts the responses in each class; {@code winningClass} is the class the label was
 * taken from ({@code -1} when the prompt was abstained).
 *
 * @param answers      the final answers voted on, one per response in sampling order
 * @param label        the pseudo-label: the first-sampled answer of the winning class; empty when abstained
 * @param answerClass  [N] class of each response, or -1
 * @param classVotes   [classes] votes per class
 * @param winningClass index of the winning class, or -1 when abstained
 * @param rewards      [N] reward per response, each in [0, 1]
 */
public record VoteResult(
        List<Optional<String>> answers,
        Optional<String> label,
        ImmutableIntArray answerClass,
        ImmutableIntArray classVotes,
        int winningClass,
        ImmutableDoubleArray rewards) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param answers the component {@code answers}, described with the class
     * @param label the component {@code label}, described with the class
     * @param answerClass the component {@code answerClass}, described with the class
     * @param classVotes the component {@code classVotes}, described with the class
     * @param winningClass the component {@code winningClass}, described with the class
     * @param rewards the component {@code rewards}, described with the class
     */
    public VoteResult {
        if (answers == null || label == null || answerClass == null || classVotes == null || rewards == null) {
            throw new IllegalArgumentException("VoteResult fields must not be null");
        }
        answers = ImmutableList.copyOf(answers);
        int n = answers.size();
        if (n == 0) {
            throw new IllegalArgumentException("a vote needs at least one response");
        }
        if (answerClass.length() != n || rewards.length() != n) {
            throw new IllegalArgumentException("answerClass (" + answerClass.length() + ") and rewards ("
                    + rewards.length() + ") must have one entry per response (" + n + ")");
        }
        int votes = 0;
        for (int c = 0; c < classVotes.length(); c++) {
            if (classVotes.get(c) <= 0) {
                throw new IllegalArgumentException("class " + c + " has no votes");
            }
            votes += classVotes.get(c);
        }
        int answered = 0;
        for (int i = 0; i < n; i++) {
            int c = answerClass.get(i);
            if (c < -1 || c >= classVotes.length()) {
                throw new IllegalArgumentException("response " + i + " is in class " + c + ", but there are "
                        + classVotes.length() + " classes");
            }
            if (c >= 0) {
                answered++;
            }
            double r = rewards.get(i);
            if (!(r >= 0 && r <= 1)) {
                throw new IllegalArgumentException("reward of response " + i + " must be in [0, 1], got " + r);
            }
        }
        if (votes != answered) {
            throw new IllegalArgumentException("class votes sum to " + votes + " but " + answered
                    + " responses are in a class");
        }
        if (winningClass < -1 || winningClass >= classVotes.length()) {
            throw new IllegalArgumentException("winningClass " + winningClass + " out of range");
        }
        if (label.isPresent() != (winningClass >= 0)) {
            throw new IllegalArgumentException("a label is present exactly when there is a winning class");
        }
    }

    /** {@return number of responses voted on (N)} */
    public int size() {
        return answers.size();
    }

    /** {@return whether the prompt got no label (no answers, or agreement below the minimum)} */
    public boolean abstained() {
        return winningClass < 0;
    }

    /**
     * Votes of the winning class over all N responses; 0 when abstained.
     *
     * @return a share in [0, 1]
     */
    public double voteShare() {
        return abstained() ? 0.0 : (double) classVotes.get(winningClass) / size();
    }

    /**
     * Votes of the largest class over all N responses, whether or not it became the label.
     *
     * @return a share in [0, 1]
     */
    public double majorityShare() {
        int max = 0;
        for (int c = 0; c < classVotes.length(); c++) {
            max = Math.max(max, classVotes.get(c));
        }
        return (double) max / size();
    }

    /** {@return number of distinct answers (classes of equivalent answers)} */
    public int distinctAnswers() {
        return classVotes.length();
    }

    /**
     * Share of responses that have an answer class.
     *
     * @return a share in [0, 1]
     */
    public double answerRate() {
        int answered = 0;
        for (int i = 0; i < size(); i++) {
            if (answerClass.get(i) >= 0) {
                answered++;
            }
        }
        return (double) answered / size();
    }

    /**
     * Mean reward over the N responses.
     *
     * @return the mean
     */
    public double meanReward() {
        double sum = 0;
        for (int i = 0; i < size(); i++) {
            sum += rewards.get(i);
        }
        return sum / size();
    }
}
