package io.github.mmupt.onnx.kernel;

/** Which copy of a tensor: its values, or (trainable heads, trained tensors) its gradient and AdamW moments. */
public enum TensorPart {
    /** The parameters. */
    VALUE,
    /** The accumulated gradient. */
    GRADIENT,
    /** AdamW's first moment. */
    ADAM_M,
    /** AdamW's second moment (never negative). */
    ADAM_V
}
