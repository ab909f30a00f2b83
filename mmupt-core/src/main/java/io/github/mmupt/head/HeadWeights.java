package io.github.mmupt.head;

import java.util.Arrays;

/**
 * The parameters of a head in float32, as models store them: the starting point of training and what a
 * trained head is exported as. Arrays are copied in and out.
 *
 * <pre>{@code
 * HeadWeights initial = HeadWeights.full(HeadShape.full(V, d), lmHeadWeight);
 * }</pre>
 */
public final class HeadWeights {

    private final HeadShape shape;
    private final float[] weight; // (V, d): W, or W0 of a LoRA
    private final float[] loraA;  // (r, d)
    private final float[] loraB;  // (V, r)

    private HeadWeights(HeadShape shape, float[] weight, float[] loraA, float[] loraB) {
        this.shape = shape;
        this.weight = weight;
        this.loraA = loraA;
        this.loraB = loraB;
    }

    /**
     * A full head; {@code weight} is [V x d] row-major.
     *
     * @param shape a full head's shape
     * @param weight W [V x d], row-major (copied)
     * @return the weights
     */
    public static HeadWeights full(HeadShape shape, float[] weight) {
        if (shape.isLora()) {
            throw new IllegalArgumentException("full() needs a full-head shape, got LoRA rank " + shape.loraRank());
        }
        check("weight", weight, shape.weightSize(), shape.vocabSize() + " x " + shape.hiddenSize());
        return new HeadWeights(shape, weight.clone(), new float[0], new float[0]);
    }

    /**
     * A LoRA on a frozen head: W0 [V x d], A [r x d], B [V x r], row-major.
     *
     * @param shape a LoRA head's shape
     * @param base W0 [V x d]
     * @param loraA A [r x d]
     * @param loraB B [V x r]
     * @return the weights
     */
    public static HeadWeights lora(HeadShape shape, float[] base, float[] loraA, float[] loraB) {
        if (!shape.isLora()) {
            throw new IllegalArgumentException("lora() needs a LoRA shape (rank > 0)");
        }
        int v = shape.vocabSize();
        int d = shape.hiddenSize();
        int r = shape.loraRank();
        check("W0", base, v * d, v + " x " + d);
        check("A", loraA, r * d, r + " x " + d);
        check("B", loraB, v * r, v + " x " + r);
        return new HeadWeights(shape, base.clone(), loraA.clone(), loraB.clone());
    }

    private static void check(String name, float[] values, int expected, String shapeText) {
        if (values == null || values.length != expected) {
            throw new IllegalArgumentException(name + " must have shape [" + shapeText + "] = " + expected
                    + " values, got " + (values == null ? "null" : values.length));
        }
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] is " + values[i] + "; weights must be finite");
            }
        }
    }

    /** {@return the head's shape} */
    public HeadShape shape() {
        return shape;
    }

    /**
     * W (or W0) [V x d], a copy.
     *
     * @return W (W0 for a LoRA head), a copy
     */
    public float[] weight() {
        return weight.clone();
    }

    /**
     * Copies {@code out.remaining()} elements of W (W0 of a LoRA) from element {@code from} into {@code out},
     * without copying the whole matrix: a large head moves to native memory in bounded pieces.
     *
     * @param from the first element, row-major
     * @param out where the elements go; its position advances
     */
    public void copyWeight(long from, java.nio.FloatBuffer out) {
        if (from < 0 || from > weight.length - (long) out.remaining()) {
            throw new IndexOutOfBoundsException("elements [" + from + ", " + (from + out.remaining()) + ") are outside "
                    + "the weight's " + weight.length);
        }
        out.put(weight, (int) from, out.remaining());
    }

    /** {@return a [r x d], a copy; empty for a full head} */
    public float[] loraA() {
        return loraA.clone();
    }

    /**
     * B [V x r], a copy; empty for a full head.
     *
     * @return B, a copy
     */
    public float[] loraB() {
        return loraB.clone();
    }

    /** {@return the same head in double precision, for the reference math} */
    public ReferenceHead toReference() {
        return shape.isLora()
                ? ReferenceHead.lora(shape, toDouble(weight), toDouble(loraA), toDouble(loraB))
                : ReferenceHead.full(shape, toDouble(weight));
    }

    private static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeadWeights other && shape.equals(other.shape) && Arrays.equals(weight, other.weight)
                && Arrays.equals(loraA, other.loraA) && Arrays.equals(loraB, other.loraB);
    }

    @Override
    public int hashCode() {
        return 31 * shape.hashCode() + Arrays.hashCode(weight) + 7 * Arrays.hashCode(loraA) + 13 * Arrays.hashCode(loraB);
    }

    @Override
    public String toString() {
        return "HeadWeights[" + shape + "]";
    }
}
