package io.github.mmupt.synth;

/**
 * Where the answer shown to the writer in in-context synthesizing comes from.
 *
 * <ul>
 *   <li>{@link #MAJORITY_VOTE} (default): the policy's own majority answer to the original question, so no label
 *       is needed; originals whose vote abstains are skipped (counted).</li>
 *   <li>{@link #GOLD}: the dataset's gold answer, as the paper did with its labeled sources; an original without
 *       one is an error.</li>
 * </ul>
 */
public enum AnswerSource {
    /** The policy's own majority answer (no label needed). */
    MAJORITY_VOTE,
    /** The dataset's gold answer. */
    GOLD
}
