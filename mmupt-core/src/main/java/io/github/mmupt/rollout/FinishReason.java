package io.github.mmupt.rollout;

/** Why a sampled response ended. */
public enum FinishReason {
    /** The model produced a stop token; the stop token is the last token of the response. */
    STOP,
    /** The response reached the maximum number of new tokens and was cut off. */
    LENGTH
}
