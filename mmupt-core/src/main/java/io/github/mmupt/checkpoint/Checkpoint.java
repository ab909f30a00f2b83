package io.github.mmupt.checkpoint;

import io.github.mmupt.grpo.OptimizerState;

/**
 * A saved training state: the head and its optimizer, the loop's counters, and the identity of the model it
 * was trained on (a checkpoint only fits that model).
 *
 * @param optimizer the head's parameters, AdamW moments and step
 * @param loop      the loop's counters
 * @param modelId   {@code PolicySpec.modelId()} of the policy it was made with
 */
public record Checkpoint(OptimizerState optimizer, LoopState loop, String modelId) {

    public Checkpoint {
        if (optimizer == null || loop == null || modelId == null || modelId.isBlank()) {
            throw new IllegalArgumentException("optimizer, loop and modelId must be present");
        }
    }
}
