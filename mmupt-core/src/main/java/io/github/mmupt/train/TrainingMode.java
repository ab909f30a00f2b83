package io.github.mmupt.train;

/**
 * What a run trains on; all share sampling, scoring, the loss kernel and the optimizer.
 *
 * <ul>
 *   <li>{@link #UPT} (MM-UPT): rewards from majority voting over the model's own answers; gold answers, where a
 *       dataset has them, are used only to monitor label and reward accuracy.</li>
 *   <li>{@link #SUPERVISED_GRPO}: rewards 1/0 from equivalence with the gold answer (the paper's "GRPO" row).</li>
 *   <li>{@link #SFT}: cross-entropy on gold responses (advantage 1 on every gold token at ratio 1, which has the
 *       cross-entropy gradient).</li>
 *   <li>{@link #LMSI} (Huang et al., 2022, "Large Language Models Can Self-Improve"): the same cross-entropy on
 *       the model's own responses that agree with the majority of their group, in groups whose vote holds at
 *       least the labeler's {@code minAgreement} share: self-consistency filtering instead of rewards. No gold
 *       answer is used; like {@link #UPT}, gold answers only feed the audit.</li>
 *   <li>{@link #SRLM} (Yuan et al., 2024, "Self-Rewarding Language Models"): GRPO with rewards from a judge
 *       ({@link io.github.mmupt.judge.ResponseJudge}; the policy judging its own responses, or a separate model)
 *       instead of the vote. The vote is still taken, for monitoring. No gold answer reaches the judge.</li>
 * </ul>
 * A {@link #UPT} run may also take a judge with a weight below 1: the vote-judge blend of
 * {@link io.github.mmupt.judge.JudgeReward}.
 */
public enum TrainingMode {
    /** Rewards from the majority vote: no labels. */
    UPT,
    /** Rewards from the gold answers (a baseline). */
    SUPERVISED_GRPO,
    /** Cross-entropy on gold responses (stage 1, or a baseline). */
    SFT,
    /** Cross-entropy on the model's own majority-agreeing responses (an unsupervised baseline). */
    LMSI,
    /** Rewards from a judge of the responses (an unsupervised baseline). */
    SRLM
}
