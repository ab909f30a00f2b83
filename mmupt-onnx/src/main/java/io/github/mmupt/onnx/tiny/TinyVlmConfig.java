package io.github.mmupt.onnx.tiny;

/**
 * Dimensions of a tiny vision-language model built by {@link TinyVlmBuilder}: a patch vision encoder, token
 * embeddings and a causal pre-norm transformer decoder with a KV cache, in the I/O contract of real exports.
 *
 * @param vocabSize    V, token ids
 * @param hiddenSize   d, the residual width (a multiple of {@code heads})
 * @param layers       decoder layers
 * @param heads        attention heads (the tiny model has as many key/value heads)
 * @param mlpSize      width of each MLP
 * @param maxPositions length of the learned position table: prompt plus response must fit
 * @param imageSize    side of the square input image in pixels (images are resized to it)
 * @param patchSize    side of a patch; {@code imageSize} must be a multiple of it
 */
public record TinyVlmConfig(int vocabSize, int hiddenSize, int layers, int heads, int mlpSize, int maxPositions,
        int imageSize, int patchSize) {

    /**
     * Checks the dimensions: large enough for a model, d divisible by the heads, the image size by the patch size.
     *
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param layers the component {@code layers}, described with the class
     * @param heads the component {@code heads}, described with the class
     * @param mlpSize the component {@code mlpSize}, described with the class
     * @param maxPositions the component {@code maxPositions}, described with the class
     * @param imageSize the component {@code imageSize}, described with the class
     * @param patchSize the component {@code patchSize}, described with the class
     */
    public TinyVlmConfig {
        if (vocabSize < 8 || hiddenSize < 4 || layers < 1 || heads < 1 || mlpSize < 1 || maxPositions < 8) {
            throw new IllegalArgumentException("tiny model dimensions too small: " + this);
        }
        if (hiddenSize % heads != 0) {
            throw new IllegalArgumentException("hiddenSize " + hiddenSize + " must be a multiple of heads " + heads);
        }
        if (patchSize < 1 || imageSize % patchSize != 0) {
            throw new IllegalArgumentException("imageSize " + imageSize + " must be a multiple of patchSize " + patchSize);
        }
    }

    /**
     * A few-hundred-kilobyte model for unit tests.
     *
     * @param vocabSize V
     * @return the configuration
     */
    public static TinyVlmConfig small(int vocabSize) {
        return new TinyVlmConfig(vocabSize, 32, 2, 4, 64, 128, 32, 8);
    }

    /** {@return the width of one attention head} */
    public int headDim() {
        return hiddenSize / heads;
    }

    /**
     * Image tokens per image: one per patch.
     *
     * @return patches per image
     */
    public int imageTokens() {
        int g = imageSize / patchSize;
        return g * g;
    }
}
