package io.github.mmupt.policy;

import java.nio.FloatBuffer;

/**
 * Final hidden states, the input of the head: a row-major float32 matrix [T x d].
 *
 * <p>For scoring and training, row t is the state at the position that predicts response token t (the
 * position just before it), rows of all sequences of a batch packed one after another. The buffer is a
 * read-only view; a direct buffer lets the native kernel read it without a copy.
 *
 * @param tokens     T, number of rows
 * @param hiddenSize d, number of columns
 * @param values     [T x d] the states; its remaining elements, from its position, must be exactly T*d
 */
public record HiddenStates(int tokens, int hiddenSize, FloatBuffer values) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param tokens the component {@code tokens}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param values the component {@code values}, described with the class
     */
    public HiddenStates {
        if (tokens < 0 || hiddenSize <= 0) {
            throw new IllegalArgumentException("hidden states need T >= 0 and d > 0, got T=" + tokens + ", d="
                    + hiddenSize);
        }
        if (values == null) {
            throw new IllegalArgumentException("values must not be null");
        }
        if ((long) values.remaining() != (long) tokens * hiddenSize) {
            throw new IllegalArgumentException("hidden states [T=" + tokens + " x d=" + hiddenSize + "] need "
                    + (long) tokens * hiddenSize + " floats, the buffer has " + values.remaining());
        }
        values = values.slice().asReadOnlyBuffer();
    }

    /**
     * Wraps a heap array; convenient for tests and the Java reference.
     *
     * @param tokens T
     * @param hiddenSize d
     * @param values [T x d], row-major (copied)
     * @return the hidden states
     */
    public static HiddenStates of(int tokens, int hiddenSize, float[] values) {
        return new HiddenStates(tokens, hiddenSize, FloatBuffer.wrap(values.clone()));
    }

    /**
     * Element (t, j).
     *
     * @param t a row
     * @param j a column
     * @return the value
     */
    public float get(int t, int j) {
        if (t < 0 || t >= tokens || j < 0 || j >= hiddenSize) {
            throw new IndexOutOfBoundsException("(" + t + ", " + j + ") outside [" + tokens + " x " + hiddenSize + "]");
        }
        return values.get(t * hiddenSize + j);
    }

    /** {@return a copy as doubles, row-major} */
    public double[] toDoubleArray() {
        double[] out = new double[tokens * hiddenSize];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    /**
     * Rows [from, to) as their own hidden states, sharing the buffer.
     *
     * @param from the first row
     * @param to the end row (exclusive)
     * @return a view of rows [from, to)
     */
    public HiddenStates rows(int from, int to) {
        if (from < 0 || to > tokens || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") outside [0, " + tokens + ")");
        }
        FloatBuffer view = values.duplicate();
        view.position(from * hiddenSize).limit(to * hiddenSize);
        return new HiddenStates(to - from, hiddenSize, view);
    }
}
