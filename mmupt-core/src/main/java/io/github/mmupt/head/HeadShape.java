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

    public static HeadShape full(int vocabSize, int hiddenSize) {
        return new HeadShape(vocabSize, hiddenSize, 0, 0);
    }

    public static HeadShape lora(int vocabSize, int hiddenSize, int rank, double alpha) {
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        }
        return new HeadShape(vocabSize, hiddenSize, rank, alpha);
    }

    public boolean isLora() {
        return loraRank > 0;
    }

    /** alpha / r, the factor on B A; 0 for a full head. */
    public double loraScale() {
        return isLora() ? loraAlpha / loraRank : 0;
    }

    /** Elements of W (or W0). */
    public int weightSize() {
        return vocabSize * hiddenSize;
    }

    /** Number of trained parameters: V*d for a full head, r*(d + V) for a LoRA. */
    public long trainableParameters() {
        return isLora() ? (long) loraRank * (hiddenSize + vocabSize) : (long) vocabSize * hiddenSize;
    }
}
