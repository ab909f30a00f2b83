package io.github.mmupt.onnx.kernel;

/** Which copy of a tensor: its values, or (trainable heads, trained tensors) its gradient and AdamW moments. */
public enum TensorPart {
    VALUE,
    GRADIENT,
    ADAM_M,
    ADAM_V
}
