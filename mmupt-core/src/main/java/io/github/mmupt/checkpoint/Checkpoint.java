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

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param optimizer the component {@code optimizer}, described with the class
     * @param loop the component {@code loop}, described with the class
     * @param modelId the component {@code modelId}, described with the class
     */
    public Checkpoint {
        if (optimizer == null || loop == null || modelId == null || modelId.isBlank()) {
            throw new IllegalArgumentException("optimizer, loop and modelId must be present");
        }
    }
}
