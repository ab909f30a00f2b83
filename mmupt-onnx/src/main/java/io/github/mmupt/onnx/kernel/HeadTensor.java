package io.github.mmupt.onnx.kernel;

/** A tensor of a native head: shapes [V x d] (WEIGHT, the full head or the frozen W0), [r x d], [V x r]. */
public enum HeadTensor {
    /** The LM head W, [V x d] (the frozen W0 of a LoRA head). */
    WEIGHT,
    /** LoRA A, [r x d]. */
    LORA_A,
    /** LoRA B, [V x r]. */
    LORA_B
}
