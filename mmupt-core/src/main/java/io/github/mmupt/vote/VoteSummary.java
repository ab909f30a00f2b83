package io.github.mmupt.vote;

import java.util.List;
import java.util.OptionalDouble;

/**
 * Voting statistics of one step, averaged over its prompts.
 *
 * @param prompts            number of prompts voted on
 * @param meanReward         mean reward over all responses
 * @param meanVoteShare      mean vote share of the label (0 for abstained prompts)
 * @param answerRate         share of responses with an answer
 * @param meanDistinctAnswers mean number of distinct answers per prompt
 * @param abstainedShare     share of prompts abstained
 * @param labelAccuracy      share of labelled, audited prompts whose label matched the gold answer; empty
 *                           without gold answers
 * @param rewardAccuracy     mean reward accuracy over audited prompts; empty without gold answers
 */
public record VoteSummary(int prompts, double meanReward, double meanVoteShare, double answerRate,
        double meanDistinctAnswers, double abstainedShare, OptionalDouble labelAccuracy,
        OptionalDouble rewardAccuracy) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param prompts the component {@code prompts}, described with the class
     * @param meanReward the component {@code meanReward}, described with the class
     * @param meanVoteShare the component {@code meanVoteShare}, described with the class
     * @param answerRate the component {@code answerRate}, described with the class
     * @param meanDistinctAnswers the component {@code meanDistinctAnswers}, described with the class
     * @param abstainedShare the component {@code abstainedShare}, described with the class
     * @param labelAccuracy the component {@code labelAccuracy}, described with the class
     * @param rewardAccuracy the component {@code rewardAccuracy}, described with the class
     */
    public VoteSummary {
        if (prompts < 0) {
            throw new IllegalArgumentException("prompts must be >= 0, got " + prompts);
        }
        if (labelAccuracy == null || rewardAccuracy == null) {
            throw new IllegalArgumentException("use OptionalDouble.empty() for missing accuracies");
        }
    }

    /**
     * Summarizes votes and, where gold answers exist, their audits.
     *
     * @param votes the votes of a step
     * @param audits audits of some of the votes (any order); empty when there are no gold answers
     * @return the summary
     */
    public static VoteSummary of(List<VoteResult> votes, List<LabelAudit> audits) {
        int n = votes.size();
        if (n == 0) {
            return new VoteSummary(0, 0, 0, 0, 0, 0, OptionalDouble.empty(), OptionalDouble.empty());
        }
        double reward = 0;
        long responses = 0;
        double share = 0;
        double answered = 0;
        double distinct = 0;
        int abstained = 0;
        for (VoteResult v : votes) {
            for (int i = 0; i < v.size(); i++) {
                reward += v.rewards().get(i);
            }
            responses += v.size();
            share += v.voteShare();
            answered += v.answerRate() * v.size();
            distinct += v.distinctAnswers();
            abstained += v.abstained() ? 1 : 0;
        }
        OptionalDouble labelAccuracy = audits.stream().filter(a -> a.labelCorrect().isPresent())
                .mapToDouble(a -> a.labelCorrect().get() ? 1.0 : 0.0).average();
        OptionalDouble rewardAccuracy = audits.stream().mapToDouble(LabelAudit::rewardAccuracy).average();
        return new VoteSummary(n, reward / responses, share / n, answered / responses, distinct / n,
                (double) abstained / n, labelAccuracy, rewardAccuracy);
    }
}
