package io.github.mmupt.head;

/**
 * The shape of the trainable LM head: a full head W [V x d], or a LoRA on a frozen head,
 * W0 [V x d] + (alpha / r) B A with A [r x d] and B [V x r].
 *
 * <pre>{@code
 * HeadShape full = HeadShape.full(151936, 896);
 * HeadShape lora = HeadShape.lora(151936, 896, 16, 32.0);
 * }</pre>
 *
 * @param vocabSize  V, rows of the head (logits)
 * @param hiddenSize d, columns of the head (hidden-state width)
 * @param loraRank   r; 0 for a full head
 * @param loraAlpha  alpha, the LoRA scale numerator; 0 for a full head
 */
public record HeadShape(int vocabSize, int hiddenSize, int loraRank, double loraAlpha) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param loraRank the component {@code loraRank}, described with the class
     * @param loraAlpha the component {@code loraAlpha}, described with the class
     */
    public HeadShape {
        if (vocabSize <= 0 || hiddenSize <= 0) {
            throw new IllegalArgumentException("head needs V > 0 and d > 0, got V=" + vocabSize + ", d=" + hiddenSize);
        }
        if ((long) vocabSize * hiddenSize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("head [V=" + vocabSize + " x d=" + hiddenSize
                    + "] exceeds one Java array (2^31 elements)");
        }
        if (loraRank < 0 || loraRank > hiddenSize) {
            throw new IllegalArgumentException("LoRA rank must be in [0, d=" + hiddenSize + "], got " + loraRank);
        }
        if (loraRank == 0 && loraAlpha != 0) {
            throw new IllegalArgumentException("a full head (rank 0) has no LoRA alpha, got " + loraAlpha);
        }
        if (loraRank > 0 && !(loraAlpha > 0 && Double.isFinite(loraAlpha))) {
            throw new IllegalArgumentException("LoRA alpha must be positive and finite, got " + loraAlpha);
        }
    }

    /**
     * A full head.
     *
     * @param vocabSize V
     * @param hiddenSize d
     * @return the shape
     */
    public static HeadShape full(int vocabSize, int hiddenSize) {
        return new HeadShape(vocabSize, hiddenSize, 0, 0);
    }

    /**
     * A LoRA head W0 + (alpha / r) B A.
     *
     * @param vocabSize V
     * @param hiddenSize d
     * @param rank r
     * @param alpha the LoRA scale numerator
     * @return the shape
     */
    public static HeadShape lora(int vocabSize, int hiddenSize, int rank, double alpha) {
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        }
        return new HeadShape(vocabSize, hiddenSize, rank, alpha);
    }

    /** {@return whether the head is a LoRA} */
    public boolean isLora() {
        return loraRank > 0;
    }

    /**
     * alpha / r, the factor on B A; 0 for a full head.
     *
     * @return alpha / r (0 for a full head)
     */
    public double loraScale() {
        return isLora() ? loraAlpha / loraRank : 0;
    }

    /**
     * Elements of W (or W0).
     *
     * @return V x d
     */
    public int weightSize() {
        return vocabSize * hiddenSize;
    }

    /** {@return number of trained parameters: V*d for a full head, r*(d + V) for a LoRA} */
    public long trainableParameters() {
        return isLora() ? (long) loraRank * (hiddenSize + vocabSize) : (long) vocabSize * hiddenSize;
    }
}
