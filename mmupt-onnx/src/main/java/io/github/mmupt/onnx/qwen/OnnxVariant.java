package io.github.mmupt.onnx.qwen;

/**
 * Which weights of an onnx-community / transformers.js export to open, by the suffix of its file names: the same
 * three graphs ({@code vision_encoder}, {@code embed_tokens}, {@code decoder_model_merged}) come as
 * {@code decoder_model_merged.onnx} (fp32), {@code decoder_model_merged_fp16.onnx} and so on.
 */
public enum OnnxVariant {
    /** float32 weights, no suffix. */
    FP32(""),
    /** float16 weights and activations. */
    FP16("_fp16"),
    /** 4-bit weights (MatMulNBits), float32 activations. */
    Q4("_q4"),
    /** 4-bit weights, float16 activations. */
    Q4F16("_q4f16"),
    /** 8-bit dynamically quantized weights. */
    QUANTIZED("_quantized");

    private final String suffix;

    OnnxVariant(String suffix) {
        this.suffix = suffix;
    }

    /** {@return the file-name suffix, empty for fp32} */
    public String suffix() {
        return suffix;
    }

    /**
     * The file name of a graph in this variant.
     *
     * @param base the graph's base name ({@code "decoder_model_merged"})
     * @return its file name ({@code "decoder_model_merged_fp16.onnx"})
     */
    public String fileName(String base) {
        return base + suffix + ".onnx";
    }
}
