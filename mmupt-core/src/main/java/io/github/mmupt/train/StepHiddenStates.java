package io.github.mmupt.train;

import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PromptResponse;
import java.util.List;

/**
 * The trunk's hidden states of one step's sequences, one micro-batch at a time. A step of MM-UPT's published
 * size (512 prompts x 10 responses x up to 2,048 tokens) has far more hidden states than memory holds (at d =
 * 3,584, 150 GB), so they are never gathered per step: when the whole step fits in the configured cache they are
 * computed once and kept for the step's passes, otherwise each micro-batch is recomputed whenever a pass needs
 * it, and only one micro-batch is alive at a time. The trunk is frozen and deterministic, so a recomputed
 * micro-batch is the same, bit for bit, as the first (and the first iteration's ratio stays exactly 1). A trunk with
 * trainable adapters changes at every update: the loop then {@link #invalidate}s the kept states after each one.
 *
 * <p>Memory: at most {@code max(cacheBytes, micro-batch tokens x d x 4)} bytes of hidden states.
 */
final class StepHiddenStates {

    private final Policy policy;
    private final List<PromptResponse> sequences;
    private final List<MicroBatch> microBatches;
    private final HiddenStates[] kept; // null when streaming

    /** Sequences [first, end) of the step, trained on in one kernel call. */
    record MicroBatch(int first, int end) {
    }

    /**
     * @param policy the trunk
     * @param sequences the step's sequences
     * @param microBatches the partition of the sequences every pass uses
     * @param tokens the step's response tokens in all
     * @param cacheBytes keep the step's hidden states when they need at most this many bytes
     */
    StepHiddenStates(Policy policy, List<PromptResponse> sequences, List<MicroBatch> microBatches, long tokens,
            long cacheBytes) {
        this.policy = policy;
        this.sequences = sequences;
        this.microBatches = microBatches;
        long bytes = tokens * policy.spec().hiddenSize() * Float.BYTES;
        this.kept = bytes <= cacheBytes ? new HiddenStates[microBatches.size()] : null;
    }

    /** {@return whether the step's hidden states are kept between passes, rather than recomputed} */
    boolean cached() {
        return kept != null;
    }

    /**
     * Forgets the kept hidden states: the trunk's adapters changed, so every later pass must recompute them.
     */
    void invalidate() {
        if (kept != null) {
            java.util.Arrays.fill(kept, null);
        }
    }

    /**
     * The sequences of micro-batch {@code m}.
     *
     * @param m the micro-batch's index
     * @return its prompts and responses
     */
    List<PromptResponse> sequences(int m) {
        MicroBatch mb = microBatches.get(m);
        return sequences.subList(mb.first(), mb.end());
    }

    /** {@return the micro-batches, in order} */
    List<MicroBatch> microBatches() {
        return microBatches;
    }

    /**
     * The hidden states of micro-batch {@code m}: computed now, or kept from the first time.
     *
     * @param m the micro-batch's index
     * @return [its response tokens x d]
     */
    HiddenStates get(int m) {
        if (kept != null && kept[m] != null) {
            return kept[m];
        }
        HiddenStates h = policy.responseHiddenStates(sequences(m));
        if (kept != null) {
            kept[m] = h;
        }
        return h;
    }
}
