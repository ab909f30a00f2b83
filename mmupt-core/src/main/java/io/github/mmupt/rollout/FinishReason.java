package io.github.mmupt.rollout;

/** Why a sampled response ended. */
public enum FinishReason {
    /** The model produced a stop token; the stop token is the last token of the response. */
    STOP,
    /** The response reached the maximum number of new tokens and was cut off. */
    LENGTH,
    /**
     * The model's output went non-finite (NaN or infinite hidden states or logits): the response was cut at that
     * token, whose log-prob is recorded as NaN, and the trainer skips every update it would have been part of.
     */
    NON_FINITE
}
