package io.github.mmupt.grpo;

/** The phases of one self-improvement step, for timing. */
public enum StepPhase {
    /** Sampling N responses per prompt. */
    ROLLOUT,
    /** Extracting answers, voting, rewards and advantages. */
    VOTE,
    /** Old and reference log-probs. */
    SCORE,
    /** Loss, gradients and optimizer updates. */
    UPDATE
}
