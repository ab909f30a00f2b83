package io.github.mmupt.onnx.kernel;

/** A tensor of a native head: shapes [V x d] (WEIGHT, the full head or the frozen W0), [r x d], [V x r]. */
public enum HeadTensor {
    WEIGHT,
    LORA_A,
    LORA_B
}
