package io.github.mmupt.policy;

import com.google.common.primitives.ImmutableIntArray;

/**
 * What a policy is, as far as training its head needs to know.
 *
 * @param modelId        identifies the trunk (for example a hash of its ONNX files); checkpoints record it so
 *                       that a head trained on one model is refused by another
 * @param hiddenSize     d, the width of the final hidden state
 * @param vocabSize      V, the number of logits (rows of the head)
 * @param endOfSequence  token ids that end a response
 */
public record PolicySpec(String modelId, int hiddenSize, int vocabSize, ImmutableIntArray endOfSequence) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param modelId the component {@code modelId}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param endOfSequence the component {@code endOfSequence}, described with the class
     */
    public PolicySpec {
        if (modelId == null || modelId.isBlank()) {
            throw new IllegalArgumentException("modelId must not be blank");
        }
        if (hiddenSize <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("hiddenSize and vocabSize must be positive, got d=" + hiddenSize
                    + ", V=" + vocabSize);
        }
        if (endOfSequence == null) {
            throw new IllegalArgumentException("endOfSequence must not be null");
        }
        for (int i = 0; i < endOfSequence.length(); i++) {
            int id = endOfSequence.get(i);
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("end-of-sequence id " + id + " outside the vocabulary [0, "
                        + vocabSize + ")");
            }
        }
    }
}
