package io.github.mmupt.train;

/**
 * What a run trains on; the three share sampling, scoring, the loss kernel and the optimizer.
 *
 * <ul>
 *   <li>{@link #UPT} (MM-UPT): rewards from majority voting over the model's own answers; gold answers, where a
 *       dataset has them, are used only to monitor label and reward accuracy.</li>
 *   <li>{@link #SUPERVISED_GRPO}: rewards 1/0 from equivalence with the gold answer (the paper's "GRPO" row).</li>
 *   <li>{@link #SFT}: cross-entropy on gold responses (advantage 1 on every gold token at ratio 1, which has the
 *       cross-entropy gradient).</li>
 * </ul>
 */
public enum TrainingMode {
    /** Rewards from the majority vote: no labels. */
    UPT,
    /** Rewards from the gold answers (a baseline). */
    SUPERVISED_GRPO,
    /** Cross-entropy on gold responses (stage 1, or a baseline). */
    SFT
}
