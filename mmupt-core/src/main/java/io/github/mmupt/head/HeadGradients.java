package io.github.mmupt.head;

/**
 * Gradients of a scalar loss with respect to the head's trainable parameters and to its input. Arrays are
 * row-major and belong to the caller.
 *
 * @param weight [V x d] dL/dW for a full head; empty for a LoRA
 * @param loraA  [r x d] dL/dA for a LoRA; empty for a full head
 * @param loraB  [V x r] dL/dB for a LoRA; empty for a full head
 * @param hidden [T x d] dL/dh
 */
public record HeadGradients(double[] weight, double[] loraA, double[] loraB, double[] hidden) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param weight the component {@code weight}, described with the class
     * @param loraA the component {@code loraA}, described with the class
     * @param loraB the component {@code loraB}, described with the class
     * @param hidden the component {@code hidden}, described with the class
     */
    public HeadGradients {
        if (weight == null || loraA == null || loraB == null || hidden == null) {
            throw new IllegalArgumentException("gradient arrays must not be null (use empty arrays)");
        }
    }
}
