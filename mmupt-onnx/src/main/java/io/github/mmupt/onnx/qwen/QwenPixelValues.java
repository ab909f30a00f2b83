package io.github.mmupt.onnx.qwen;

/**
 * One image as Qwen2-VL's vision encoder takes it: {@code pixel_values} of shape [patches, 1176] (row-major:
 * each row is one 14 x 14 patch, 3 channels x 2 frames), and {@code image_grid_thw} = [t, h, w] in patches.
 * Every 4 consecutive rows are one 2 x 2 merge group, so the image becomes {@link #imageTokens()} tokens.
 *
 * @param values    the patch rows, {@code patches() * patchDim()} floats (owned by this record: do not modify)
 * @param gridT     frames / temporal patch size (1 for an image)
 * @param gridH     patch rows
 * @param gridW     patch columns
 * @param patchDim  floats per patch row (3 x temporal patch size x patch size^2 = 1176)
 * @param mergeSize patches per merged token along each side (2)
 */
public record QwenPixelValues(float[] values, int gridT, int gridH, int gridW, int patchDim, int mergeSize) {

    /**
     * Checks the shape.
     *
     * @param values the component {@code values}, described with the class
     * @param gridT the component {@code gridT}, described with the class
     * @param gridH the component {@code gridH}, described with the class
     * @param gridW the component {@code gridW}, described with the class
     * @param patchDim the component {@code patchDim}, described with the class
     * @param mergeSize the component {@code mergeSize}, described with the class
     */
    public QwenPixelValues {
        if (gridT <= 0 || gridH <= 0 || gridW <= 0 || patchDim <= 0 || mergeSize <= 0) {
            throw new IllegalArgumentException("grid " + gridT + "x" + gridH + "x" + gridW + ", patch " + patchDim
                    + " and merge size " + mergeSize + " must be positive");
        }
        if (gridH % mergeSize != 0 || gridW % mergeSize != 0) {
            throw new IllegalArgumentException("grid " + gridH + "x" + gridW + " is not a multiple of the merge size "
                    + mergeSize);
        }
        if ((long) values.length != (long) gridT * gridH * gridW * patchDim) {
            throw new IllegalArgumentException(values.length + " values for a grid of " + gridT + "x" + gridH + "x"
                    + gridW + " patches of " + patchDim);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QwenPixelValues p && gridT == p.gridT && gridH == p.gridH && gridW == p.gridW
                && patchDim == p.patchDim && mergeSize == p.mergeSize && java.util.Arrays.equals(values, p.values);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Objects.hash(gridT, gridH, gridW, patchDim, mergeSize) + java.util.Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "QwenPixelValues[grid " + gridT + "x" + gridH + "x" + gridW + ", " + patches() + " x " + patchDim + "]";
    }

    /** {@return the number of patch rows: t x h x w} */
    public int patches() {
        return gridT * gridH * gridW;
    }

    /** {@return the number of {@code <|image_pad|>} tokens the image takes in the prompt} */
    public int imageTokens() {
        return patches() / (mergeSize * mergeSize);
    }

    /** {@return {@code image_grid_thw} as the graphs take it} */
    public long[] gridThw() {
        return new long[] {gridT, gridH, gridW};
    }
}
