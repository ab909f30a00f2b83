package io.github.mmupt.grpo;

/** Which head a {@link GrpoOptimizer} scores with. */
public enum HeadVersion {
    /** The head as trained so far: for sampling and old log-probs. */
    CURRENT,
    /** The head as it was when the optimizer was created, frozen: the reference policy of the KL term. */
    REFERENCE
}
