package io.github.mmupt.onnx.qwen;

import java.util.List;

/**
 * The sizes of a generated Qwen2-VL test model: tiny in every dimension but the vocabulary, which is the real
 * Qwen one (151,936 rows) so that the real tokenizer and its special ids work unchanged.
 *
 * <pre>{@code
 * QwenTinyConfig c = QwenTinyConfig.defaults();   // d = 64, 2 layers, 4 query / 2 key-value heads
 * }</pre>
 *
 * @param modelType         {@code qwen2_vl} or {@code qwen2_5_vl} (RMSNorm and SwiGLU in the vision tower,
 *                          {@code image_grid_thw}; every vision block in full attention, so windowing never arises)
 * @param hiddenSize        decoder width
 * @param intermediateSize  SwiGLU width
 * @param layers            decoder layers
 * @param heads             query heads
 * @param kvHeads           key/value heads (GQA)
 * @param headDim           per-head width; {@code 2 * sum(mropeSection)}
 * @param mropeSection      M-RoPE frequencies for time, height, width
 * @param vocabSize         logit rows
 * @param maxPositions      {@code max_position_embeddings}
 * @param visionDepth       vision blocks
 * @param visionEmbedDim    vision width
 * @param visionHeads       vision heads
 * @param visionMlpRatio    vision MLP width over the vision width
 * @param minPixels         the processor's smallest resized area
 * @param maxPixels         the processor's largest resized area (keeps images to a few tokens)
 */
public record QwenTinyConfig(String modelType, int hiddenSize, int intermediateSize, int layers, int heads, int kvHeads, int headDim,
        List<Integer> mropeSection, int vocabSize, int maxPositions, int visionDepth, int visionEmbedDim,
        int visionHeads, int visionMlpRatio, long minPixels, long maxPixels) {

    /** Qwen2-VL's rotary base of the decoder. */
    public static final double ROPE_THETA = 1_000_000.0;
    /** The vision tower's rotary base. */
    public static final double VISION_ROPE_THETA = 10_000.0;
    /** RMSNorm's and LayerNorm's epsilon. */
    public static final float NORM_EPSILON = 1e-6f;
    /** Pixels per patch side. */
    public static final int PATCH = 14;
    /** Frames per patch. */
    public static final int TEMPORAL_PATCH = 2;
    /** Patches merged per side. */
    public static final int MERGE = 2;
    /** The real Qwen2-VL logit rows. */
    public static final int QWEN_VOCAB = 151_936;

    /**
     * Checks the sizes.
     *
     * @param modelType the component {@code modelType}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param intermediateSize the component {@code intermediateSize}, described with the class
     * @param layers the component {@code layers}, described with the class
     * @param heads the component {@code heads}, described with the class
     * @param kvHeads the component {@code kvHeads}, described with the class
     * @param headDim the component {@code headDim}, described with the class
     * @param mropeSection the component {@code mropeSection}, described with the class
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param maxPositions the component {@code maxPositions}, described with the class
     * @param visionDepth the component {@code visionDepth}, described with the class
     * @param visionEmbedDim the component {@code visionEmbedDim}, described with the class
     * @param visionHeads the component {@code visionHeads}, described with the class
     * @param visionMlpRatio the component {@code visionMlpRatio}, described with the class
     * @param minPixels the component {@code minPixels}, described with the class
     * @param maxPixels the component {@code maxPixels}, described with the class
     */
    public QwenTinyConfig {
        if (!QwenVlConfig.SUPPORTED_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("modelType must be one of " + QwenVlConfig.SUPPORTED_TYPES + ", got "
                    + modelType);
        }
        mropeSection = List.copyOf(mropeSection);
        if (mropeSection.size() != 3 || 2 * mropeSection.stream().mapToInt(Integer::intValue).sum() != headDim) {
            throw new IllegalArgumentException("mropeSection " + mropeSection + " must be 3 sizes summing to headDim / 2");
        }
        if (heads % kvHeads != 0 || visionEmbedDim % visionHeads != 0 || (visionEmbedDim / visionHeads) % 4 != 0) {
            throw new IllegalArgumentException("heads must be a multiple of kvHeads, and the vision head width a "
                    + "multiple of 4 (2-D rotary halves)");
        }
        if (hiddenSize <= 0 || intermediateSize <= 0 || layers <= 0 || vocabSize <= 0 || maxPositions <= 0
                || visionDepth <= 0 || visionMlpRatio <= 0 || minPixels <= 0 || maxPixels < minPixels) {
            throw new IllegalArgumentException("sizes must be positive (and maxPixels >= minPixels)");
        }
    }

    /** {@return d = 64, 2 layers, 4 / 2 heads of 16, the real vocabulary; a 1-block vision tower of width 32} */
    public static QwenTinyConfig defaults() {
        return new QwenTinyConfig("qwen2_vl", 64, 128, 2, 4, 2, 16, List.of(2, 3, 3), QWEN_VOCAB, 4096, 1, 32, 2, 2,
                4L * 28 * 28, 112L * 112);
    }

    /**
     * These sizes as another family member.
     *
     * @param type {@code qwen2_vl} or {@code qwen2_5_vl}
     * @return the changed config
     */
    public QwenTinyConfig withModelType(String type) {
        return new QwenTinyConfig(type, hiddenSize, intermediateSize, layers, heads, kvHeads, headDim, mropeSection,
                vocabSize, maxPositions, visionDepth, visionEmbedDim, visionHeads, visionMlpRatio, minPixels, maxPixels);
    }

    /** {@return whether this is a Qwen2.5-VL} */
    public boolean qwen25() {
        return "qwen2_5_vl".equals(modelType);
    }
}
