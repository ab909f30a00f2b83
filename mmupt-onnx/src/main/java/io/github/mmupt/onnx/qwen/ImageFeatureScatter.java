package io.github.mmupt.onnx.qwen;

/**
 * Writes vision-encoder rows into token embeddings at the {@code <|image_pad|>} positions, in order, as
 * Qwen2-VL's {@code masked_scatter} does: the k-th image-pad token of the batch (row by row) takes feature row k.
 * The counts must agree exactly; a prompt whose pad tokens and image features disagree would silently mix text
 * and vision, so it is an error naming both.
 */
public final class ImageFeatureScatter {

    private ImageFeatureScatter() {}

    /**
     * Scatters in place.
     *
     * @param embeddings [tokens, hidden] flattened, the output of {@code embed_tokens}; overwritten at image pads
     * @param ids        the token ids, [tokens] (a batch flattened row by row)
     * @param features   [rows, hidden] flattened, the vision encoder's output for every image in order
     * @param hidden     the hidden size
     * @param imagePadId {@code <|image_pad|>}
     * @throws IllegalArgumentException when the number of image-pad tokens is not the number of feature rows, or
     *                                  the arrays do not fit {@code hidden}
     */
    public static void scatter(float[] embeddings, int[] ids, float[] features, int hidden, int imagePadId) {
        if (hidden <= 0 || (long) ids.length * hidden != embeddings.length || features.length % hidden != 0) {
            throw new IllegalArgumentException("embeddings of " + embeddings.length + " floats for " + ids.length
                    + " tokens and features of " + features.length + " floats do not fit hidden size " + hidden);
        }
        int rows = features.length / hidden;
        int pads = 0;
        for (int id : ids) {
            if (id == imagePadId) {
                pads++;
            }
        }
        if (pads != rows) {
            throw new IllegalArgumentException("the prompt has " + pads + " <|image_pad|> tokens but the vision "
                    + "encoder gave " + rows + " feature rows; they must be equal (image tokens = t*h*w/4 of each "
                    + "grid)");
        }
        int row = 0;
        for (int s = 0; s < ids.length; s++) {
            if (ids[s] == imagePadId) {
                System.arraycopy(features, row++ * hidden, embeddings, s * hidden, hidden);
            }
        }
    }
}
