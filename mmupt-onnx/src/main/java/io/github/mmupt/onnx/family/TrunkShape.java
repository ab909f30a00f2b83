package io.github.mmupt.onnx.family;

/**
 * The dimensions of a model's trunk that the runner sizes its tensors by: every graph is checked against them
 * when the model opens, so a mismatch is an error naming the file, not a crash in the middle of a step.
 *
 * <pre>{@code
 * TrunkShape shape = new TrunkShape(64, 320, 2, 4, 16, 256);
 * long kvFloatsPerToken = 2L * shape.layers() * shape.kvHeads() * shape.headDim();
 * }</pre>
 *
 * @param hiddenSize   d, the width of the final hidden state and of the embeddings
 * @param vocabSize    V, the rows of the LM head
 * @param layers       decoder layers (one past/present key and value each)
 * @param kvHeads      key/value heads
 * @param headDim      width of a head
 * @param maxPositions the longest sequence the decoder supports
 */
public record TrunkShape(int hiddenSize, int vocabSize, int layers, int kvHeads, int headDim, int maxPositions) {

    /**
     * Checks that every dimension is positive; a violation names the dimension.
     *
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param layers the component {@code layers}, described with the class
     * @param kvHeads the component {@code kvHeads}, described with the class
     * @param headDim the component {@code headDim}, described with the class
     * @param maxPositions the component {@code maxPositions}, described with the class
     */
    public TrunkShape {
        int[] dims = {hiddenSize, vocabSize, layers, kvHeads, headDim, maxPositions};
        String[] names = {"hiddenSize", "vocabSize", "layers", "kvHeads", "headDim", "maxPositions"};
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] <= 0) {
                throw new IllegalArgumentException(names[i] + " must be a positive integer, got " + dims[i]);
            }
        }
    }
}
