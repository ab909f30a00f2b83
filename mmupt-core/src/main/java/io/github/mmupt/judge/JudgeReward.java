package io.github.mmupt.judge;

import com.google.common.primitives.ImmutableDoubleArray;
import java.util.List;
import java.util.OptionalDouble;

/**
 * A judge and how much of the reward is its: a response's reward is
 * {@code (1 - judgeWeight) * voteReward + judgeWeight * judgeScore}, where the judge score is in [0, 1] and a
 * response the judge gave no score gets 0 for the judge's part (an unreadable judgment earns nothing, so a
 * policy cannot gain by making its judge fail). With weight 1 (SRLM) the vote plays no part in the reward; with a weight
 * in (0, 1) it is MM-UPT with an LLM-as-a-judge term, the combination the paper names as its first future
 * direction: the vote keeps the reward anchored to answers the model agrees on, the judge separates responses
 * that reach the same answer.
 *
 * <pre>{@code
 * JudgeReward srlm = JudgeReward.only(judge);           // TrainingMode.SRLM
 * JudgeReward blend = new JudgeReward(judge, 0.3);      // TrainingMode.UPT, 70% vote, 30% judge
 * }</pre>
 *
 * @param judge the judge
 * @param judgeWeight the judge's share of the reward, in (0, 1]
 */
public record JudgeReward(ResponseJudge judge, double judgeWeight) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param judge the component {@code judge}, described with the class
     * @param judgeWeight the component {@code judgeWeight}, described with the class
     */
    public JudgeReward {
        if (judge == null) {
            throw new IllegalArgumentException("the judge must not be null");
        }
        if (!(judgeWeight > 0 && judgeWeight <= 1)) {
            throw new IllegalArgumentException("the judge's weight must be in (0, 1], got " + judgeWeight);
        }
    }

    /**
     * Rewards from the judge alone (SRLM).
     *
     * @param judge the judge
     * @return the judge with weight 1
     */
    public static JudgeReward only(ResponseJudge judge) {
        return new JudgeReward(judge, 1.0);
    }

    /**
     * One group's rewards.
     *
     * @param voteRewards the vote's reward per response
     * @param judgeScores the judge's score per response (same order)
     * @return the blended rewards
     */
    public ImmutableDoubleArray blend(ImmutableDoubleArray voteRewards, List<OptionalDouble> judgeScores) {
        if (voteRewards.length() != judgeScores.size()) {
            throw new IllegalArgumentException("the judge scored " + judgeScores.size() + " responses of a group of "
                    + voteRewards.length());
        }
        double[] out = new double[voteRewards.length()];
        for (int r = 0; r < out.length; r++) {
            OptionalDouble s = judgeScores.get(r);
            double score = s.isPresent() ? s.getAsDouble() : 0.0;
            if (!(score >= 0 && score <= 1)) {
                throw new IllegalArgumentException("judge scores must be in [0, 1], got " + score + " for response " + r);
            }
            out[r] = (1 - judgeWeight) * voteRewards.get(r) + judgeWeight * score;
        }
        return ImmutableDoubleArray.copyOf(out);
    }
}
