package io.github.mmupt.onnx.model;

import java.util.Arrays;

/**
 * A float32 tensor: its dimensions and row-major values. Immutable: values are copied in and out.
 */
public final class FloatTensor {

    private final long[] dims;
    private final float[] values;

    private FloatTensor(long[] dims, float[] values) {
        this.dims = dims;
        this.values = values;
    }

    /**
     * A tensor of these dimensions and row-major values.
     *
     * @param dims the dimensions
     * @param values the values (their count must be the product of the dimensions)
     * @return the tensor
     */
    public static FloatTensor of(long[] dims, float[] values) {
        return wrap(dims, values.clone());
    }

    /** Like {@link #of} without the defensive copy: for a head of gigabytes, read once and handed on. */
    static FloatTensor wrap(long[] dims, float[] values) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor dimensions must be >= 0, got " + Arrays.toString(dims));
            }
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("a tensor of shape " + Arrays.toString(dims) + " needs " + n
                    + " values, got " + values.length);
        }
        return new FloatTensor(dims.clone(), values);
    }

    /** The values themselves, not a copy: callers in this package must not change them. */
    float[] valuesView() {
        return values;
    }

    /** {@return a copy of the dimensions} */
    public long[] dims() {
        return dims.clone();
    }

    /** {@return a copy of the values, row-major} */
    public float[] values() {
        return values.clone();
    }

    /** {@return the number of values} */
    public int size() {
        return values.length;
    }

    /**
     * The 2-D transpose; only for matrices.
     *
     * @return the transposed matrix
     */
    public FloatTensor transpose() {
        if (dims.length != 2) {
            throw new IllegalStateException("transpose needs a matrix, got shape " + Arrays.toString(dims));
        }
        int rows = (int) dims[0];
        int cols = (int) dims[1];
        float[] t = new float[values.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = values[r * cols + c];
            }
        }
        return new FloatTensor(new long[] {cols, rows}, t);
    }

    @Override
    public String toString() {
        return "FloatTensor" + Arrays.toString(dims);
    }
}
