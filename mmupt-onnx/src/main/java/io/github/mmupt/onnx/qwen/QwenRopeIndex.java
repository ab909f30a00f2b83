package io.github.mmupt.onnx.qwen;

import java.util.List;

/**
 * Hugging Face's {@code get_rope_index} for Qwen2-VL and Qwen2.5-VL prompts with still images: text advances all
 * three axes together; the tokens of an image share one temporal position and take their row and column in the
 * merged grid as height and width offsets, and the text after it resumes at the largest position so far plus one.
 * Padding (mask 0) is skipped and given position 1, as Hugging Face does. For still images the two families
 * agree (Qwen2.5-VL's time scaling multiplies a zero frame index); videos are not handled and are refused.
 *
 * <pre>{@code
 * QwenRopeIndex index = new QwenRopeIndex(151652, 151655, 2);
 * RopePositions p = index.compute(new int[][] {ids}, null, List.of(pixels.gridThw()));
 * long next = p.decodePosition(0, ids.length);   // the first generated token's position
 * }</pre>
 *
 * @param visionStartId    {@code <|vision_start|>} (151652)
 * @param imagePadId       {@code <|image_pad|>} (151655)
 * @param spatialMergeSize patches merged per side (2)
 */
public record QwenRopeIndex(int visionStartId, int imagePadId, int spatialMergeSize) {

    /**
     * Checks the merge size.
     *
     * @param visionStartId the component {@code visionStartId}, described with the class
     * @param imagePadId the component {@code imagePadId}, described with the class
     * @param spatialMergeSize the component {@code spatialMergeSize}, described with the class
     */
    public QwenRopeIndex {
        if (spatialMergeSize <= 0) {
            throw new IllegalArgumentException("spatial merge size must be positive, was " + spatialMergeSize);
        }
    }

    /**
     * Positions of a batch.
     *
     * @param ids   token ids, [B][S] (all rows the same length)
     * @param mask  attention mask, [B][S] of 0 and 1, or null for all ones
     * @param grids {@code image_grid_thw} of every image in the batch, in order (row by row, left to right)
     * @return the positions and rope deltas
     * @throws IllegalArgumentException when the images in the ids and the grids disagree (both counts named), a
     *                                  grid does not fit the merge size or the tokens that follow, or rows differ
     *                                  in length
     */
    public RopePositions compute(int[][] ids, int[][] mask, List<long[]> grids) {
        int batch = ids.length;
        if (batch == 0) {
            throw new IllegalArgumentException("no rows");
        }
        int length = ids[0].length;
        long[] positions = new long[3 * batch * length];
        long[] deltas = new long[batch];
        int images = countImages(ids, mask);
        if (images != grids.size()) {
            throw new IllegalArgumentException("the token ids hold " + images + " images (<|vision_start|> followed "
                    + "by <|image_pad|>) but " + grids.size() + " image grids were given");
        }
        int image = 0;
        for (int b = 0; b < batch; b++) {
            if (ids[b].length != length || (mask != null && mask[b].length != length)) {
                throw new IllegalArgumentException("row " + b + " has " + ids[b].length + " ids; row 0 has " + length);
            }
            int[] kept = new int[length];
            int[] where = new int[length];
            int n = 0;
            for (int s = 0; s < length; s++) {
                if (mask == null || mask[b][s] == 1) {
                    where[n] = s;
                    kept[n++] = ids[b][s];
                } else {
                    for (int axis = 0; axis < 3; axis++) {
                        positions[(axis * batch + b) * length + s] = 1;
                    }
                }
            }
            long[][] rows = new long[3][n];
            int st = 0;
            long next = 0;
            int rowImages = countImages(kept, n);
            for (int i = 0; i < rowImages; i++, image++) {
                int ed = st;
                while (ed < n && kept[ed] != imagePadId) {
                    ed++;
                }
                long[] grid = grids.get(image);
                if (grid.length != 3 || grid[0] != 1 || grid[1] % spatialMergeSize != 0
                        || grid[2] % spatialMergeSize != 0) {
                    throw new IllegalArgumentException("image " + image + " has grid " + java.util.Arrays.toString(grid)
                            + "; expected [1, h, w] (a still image) with h and w multiples of " + spatialMergeSize);
                }
                int lh = Math.toIntExact(grid[1] / spatialMergeSize);
                int lw = Math.toIntExact(grid[2] / spatialMergeSize);
                int tokens = lh * lw;
                if (ed + tokens > n) {
                    throw new IllegalArgumentException("image " + image + " (grid " + java.util.Arrays.toString(grid)
                            + ") needs " + tokens + " <|image_pad|> tokens from position " + ed + " of row " + b
                            + ", which has " + (n - ed) + " tokens left");
                }
                for (int k = st; k < ed; k++) {
                    rows[0][k] = rows[1][k] = rows[2][k] = next + (k - st);
                }
                long base = next + (ed - st);
                long max = ed > st ? base - 1 : next - 1;
                for (int k = 0; k < tokens; k++) {
                    rows[0][ed + k] = base;
                    rows[1][ed + k] = base + k / lw;
                    rows[2][ed + k] = base + k % lw;
                    max = Math.max(max, Math.max(rows[1][ed + k], rows[2][ed + k]));
                }
                next = max + 1;
                st = ed + tokens;
            }
            for (int k = st; k < n; k++) {
                rows[0][k] = rows[1][k] = rows[2][k] = next + (k - st);
            }
            long max = n > st ? next + (n - st) - 1 : next - 1;
            if (images == 0 && n < length) {
                // Hugging Face's text-only path takes the maximum over the padded row, its padding's 1 included
                max = Math.max(max, 1);
            }
            for (int axis = 0; axis < 3; axis++) {
                for (int k = 0; k < n; k++) {
                    positions[(axis * batch + b) * length + where[k]] = rows[axis][k];
                }
            }
            deltas[b] = max + 1 - length;
        }
        return new RopePositions(positions, batch, length, deltas);
    }

    private int countImages(int[][] ids, int[][] mask) {
        int total = 0;
        for (int b = 0; b < ids.length; b++) {
            int[] kept = new int[ids[b].length];
            int n = 0;
            for (int s = 0; s < ids[b].length; s++) {
                if (mask == null || mask[b][s] == 1) {
                    kept[n++] = ids[b][s];
                }
            }
            total += countImages(kept, n);
        }
        return total;
    }

    private int countImages(int[] kept, int n) {
        int count = 0;
        for (int s = 0; s + 1 < n; s++) {
            if (kept[s] == visionStartId && kept[s + 1] == imagePadId) {
                count++;
            }
        }
        return count;
    }
}
