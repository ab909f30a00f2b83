package io.github.mmupt.checkpoint;

import io.github.mmupt.adapter.AdapterState;
import io.github.mmupt.grpo.OptimizerState;
import java.util.Optional;

/**
 * A saved training state: the head and its optimizer, the trunk's adapters and their moments when it has any,
 * the loop's counters, and the identity of the model it was trained on (a checkpoint only fits that model).
 *
 * @param optimizer the head's parameters, AdamW moments and step
 * @param loop      the loop's counters
 * @param modelId   {@code PolicySpec.modelId()} of the policy it was made with
 * @param adapters  the trunk's adapters and their AdamW moments, or empty for a frozen trunk
 */
public record Checkpoint(OptimizerState optimizer, LoopState loop, String modelId, Optional<AdapterState> adapters) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param optimizer the component {@code optimizer}, described with the class
     * @param loop the component {@code loop}, described with the class
     * @param modelId the component {@code modelId}, described with the class
     * @param adapters the component {@code adapters}, described with the class
     */
    public Checkpoint {
        if (optimizer == null || loop == null || modelId == null || modelId.isBlank() || adapters == null) {
            throw new IllegalArgumentException("optimizer, loop, modelId and adapters (Optional) must be present");
        }
    }

    /**
     * A checkpoint of a frozen trunk's run: the head alone.
     *
     * @param optimizer the head's parameters, AdamW moments and step
     * @param loop the loop's counters
     * @param modelId the model's identity
     */
    public Checkpoint(OptimizerState optimizer, LoopState loop, String modelId) {
        this(optimizer, loop, modelId, Optional.empty());
    }
}
