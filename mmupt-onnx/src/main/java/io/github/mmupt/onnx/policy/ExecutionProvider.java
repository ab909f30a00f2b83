package io.github.mmupt.onnx.policy;

/** Where ONNX Runtime runs the trunk's forward passes. */
public enum ExecutionProvider {
    /** The CPU provider. */
    CPU,
    /**
     * The CUDA provider when the {@code onnxruntime_gpu} artifact (Maven profile {@code gpu}) and a GPU are
     * present; otherwise the CPU, with a warning.
     */
    AUTO,
    /** The CUDA provider, or an error when it is unavailable. */
    CUDA
}
