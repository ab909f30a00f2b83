package io.github.mmupt.onnx.family;

import java.util.List;

/**
 * What one image becomes for the vision graph: its named inputs (the tiny family's pixel square; Qwen's patch
 * rows and {@code grid_thw}) and the output to read, whose rows are the image's features, one per image token.
 *
 * <pre>{@code
 * VisionFeed feed = new VisionFeed(List.of(pixels), "image_features", new long[] {1, 16, 64}, 16);
 * }</pre>
 *
 * @param inputs      the vision graph's inputs for this image
 * @param output      the output holding the features
 * @param outputShape its shape, as the graph gives it (rows x d, with any leading batch dimension of 1)
 * @param rows        the feature rows, one per image token of the prompt
 */
public record VisionFeed(List<FeedTensor> inputs, String output, long[] outputShape, int rows) {

    /**
     * Checks that the output shape holds exactly {@code rows} rows of its last dimension.
     *
     * @param inputs the component {@code inputs}, described with the class
     * @param output the component {@code output}, described with the class
     * @param outputShape the component {@code outputShape}, described with the class
     * @param rows the component {@code rows}, described with the class
     */
    public VisionFeed {
        inputs = List.copyOf(inputs);
        long elements = 1;
        for (long dim : outputShape) {
            elements *= dim;
        }
        if (output == null || outputShape.length == 0 || rows <= 0
                || elements != (long) rows * outputShape[outputShape.length - 1]) {
            throw new IllegalArgumentException("vision output " + output + " of shape "
                    + java.util.Arrays.toString(outputShape) + " does not hold " + rows + " rows");
        }
    }
}
