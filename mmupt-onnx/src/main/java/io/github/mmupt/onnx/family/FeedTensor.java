package io.github.mmupt.onnx.family;

import java.util.Arrays;

/**
 * One named input of a graph run, float32 or int64, as a family prepares it (pixel values, an image grid).
 * The runner turns it into an ONNX Runtime tensor; the arrays are owned by this record and not copied, so do
 * not modify them after handing them over.
 *
 * <pre>{@code
 * FeedTensor grid = FeedTensor.longs("grid_thw", new long[] {1, 3}, new long[] {1, 8, 8});
 * }</pre>
 *
 * @param name   the graph input's name
 * @param shape  its shape
 * @param floats the float32 data, or null for an int64 tensor
 * @param longs  the int64 data, or null for a float32 tensor
 */
public record FeedTensor(String name, long[] shape, float[] floats, long[] longs) {

    /**
     * Checks that exactly one of the data arrays is given and that it holds exactly the shape's elements.
     *
     * @param name the component {@code name}, described with the class
     * @param shape the component {@code shape}, described with the class
     * @param floats the component {@code floats}, described with the class
     * @param longs the component {@code longs}, described with the class
     */
    public FeedTensor {
        if (name == null || shape == null || (floats == null) == (longs == null)) {
            throw new IllegalArgumentException("a feed tensor needs a name, a shape and one of float or long data");
        }
        long elements = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            }
            elements *= dim;
        }
        int length = floats != null ? floats.length : longs.length;
        if (elements != length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " holds " + elements
                    + " elements but the data has " + length);
        }
    }

    /**
     * A float32 tensor.
     *
     * @param name the input
     * @param shape its shape
     * @param data the values, row-major
     * @return the tensor
     */
    public static FeedTensor floats(String name, long[] shape, float[] data) {
        return new FeedTensor(name, shape, data, null);
    }

    /**
     * An int64 tensor.
     *
     * @param name the input
     * @param shape its shape
     * @param data the values, row-major
     * @return the tensor
     */
    public static FeedTensor longs(String name, long[] shape, long[] data) {
        return new FeedTensor(name, shape, null, data);
    }
}
