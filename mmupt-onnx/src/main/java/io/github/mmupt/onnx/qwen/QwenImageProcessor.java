package io.github.mmupt.onnx.qwen;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.mmupt.prompt.RgbImage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Qwen2-VL / Qwen2.5-VL image preprocessing exactly as Hugging Face's (Pillow-based) {@code Qwen2VLImageProcessor}:
 * {@link #smartResize smart resize} to multiples of 28 within a pixel range, Pillow's bicubic resize, rescale to
 * 0..1 (in double, then float), normalise by the CLIP mean and std (in float), the frame repeated to the temporal
 * patch size, and patches of 14 x 14 in 2 x 2 merge groups. The same settings must serve sampling and scoring.
 *
 * <pre>{@code
 * QwenImageProcessor processor = QwenImageProcessor.read(modelDir.resolve("preprocessor_config.json"))
 *         .withPixelRange(256 * 28 * 28, 1280 * 28 * 28);   // the usual range for GRPO
 * QwenPixelValues pixels = processor.process(RgbImage.read(file), file.toString());
 * }</pre>
 *
 * @param minPixels         the fewest pixels after resizing
 * @param maxPixels         the most pixels after resizing
 * @param patchSize         side of a patch (14)
 * @param temporalPatchSize frames per patch (2: an image is repeated)
 * @param mergeSize         patches merged per side into one token (2)
 * @param rescaleFactor     multiplies the 0..255 values (1/255)
 * @param mean              per-channel mean (3 values)
 * @param std               per-channel standard deviation (3 values)
 */
public record QwenImageProcessor(long minPixels, long maxPixels, int patchSize, int temporalPatchSize, int mergeSize,
        double rescaleFactor, float[] mean, float[] std) {

    /** Hugging Face's processor refuses images whose long side is more than this many times the short one. */
    public static final int MAX_ASPECT_RATIO = 200;

    /**
     * Checks the settings.
     *
     * @param minPixels the component {@code minPixels}, described with the class
     * @param maxPixels the component {@code maxPixels}, described with the class
     * @param patchSize the component {@code patchSize}, described with the class
     * @param temporalPatchSize the component {@code temporalPatchSize}, described with the class
     * @param mergeSize the component {@code mergeSize}, described with the class
     * @param rescaleFactor the component {@code rescaleFactor}, described with the class
     * @param mean the component {@code mean}, described with the class
     * @param std the component {@code std}, described with the class
     */
    public QwenImageProcessor {
        if (patchSize <= 0 || temporalPatchSize <= 0 || mergeSize <= 0) {
            throw new IllegalArgumentException("patch size " + patchSize + ", temporal patch size " + temporalPatchSize
                    + " and merge size " + mergeSize + " must be positive");
        }
        long factor = (long) patchSize * mergeSize;
        if (minPixels < factor * factor || maxPixels < minPixels) {
            throw new IllegalArgumentException("pixel range [" + minPixels + ", " + maxPixels + "] must have "
                    + factor * factor + " <= min_pixels <= max_pixels");
        }
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("image_mean and image_std need 3 values each (RGB), got " + mean.length
                    + " and " + std.length);
        }
        for (float s : std) {
            if (!(s > 0) || !Float.isFinite(s)) {
                throw new IllegalArgumentException("image_std values must be positive and finite, got " + s);
            }
        }
        if (!(rescaleFactor > 0) || !Double.isFinite(rescaleFactor)) {
            throw new IllegalArgumentException("rescale_factor must be positive and finite, got " + rescaleFactor);
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** {@return the settings of the published Qwen2-VL and Qwen2.5-VL {@code preprocessor_config.json}} */
    public static QwenImageProcessor defaults() {
        return new QwenImageProcessor(56 * 56, 28L * 28 * 16384, 14, 2, 2, 1 / 255.0,
                new float[] {0.48145466f, 0.4578275f, 0.40821073f},
                new float[] {0.26862954f, 0.26130258f, 0.27577711f});
    }

    /**
     * Reads a {@code preprocessor_config.json}; absent fields keep {@link #defaults()}.
     *
     * @param file the file
     * @return the processor
     * @throws IOException naming the file and the field when it is missing, not JSON or holds a wrong value
     */
    public static QwenImageProcessor read(Path file) throws IOException {
        JsonNode root = ConfigFiles.readObject(file, "preprocessor config");
        QwenImageProcessor d = defaults();
        // newer exports nest the range as "size": {"shortest_edge": min, "longest_edge": max}
        long min = root.path("min_pixels").asLong(root.path("size").path("shortest_edge").asLong(d.minPixels));
        long max = root.path("max_pixels").asLong(root.path("size").path("longest_edge").asLong(d.maxPixels));
        try {
            return new QwenImageProcessor(min, max, root.path("patch_size").asInt(d.patchSize),
                    root.path("temporal_patch_size").asInt(d.temporalPatchSize),
                    root.path("merge_size").asInt(d.mergeSize),
                    root.path("rescale_factor").asDouble(d.rescaleFactor), floats(root.path("image_mean"), d.mean),
                    floats(root.path("image_std"), d.std));
        } catch (IllegalArgumentException e) {
            throw new IOException(file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * These settings with another pixel range (use the same one for sampling and scoring).
     *
     * @param min the fewest pixels after resizing
     * @param max the most pixels after resizing
     * @return the new settings
     */
    public QwenImageProcessor withPixelRange(long min, long max) {
        return new QwenImageProcessor(min, max, patchSize, temporalPatchSize, mergeSize, rescaleFactor, mean, std);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QwenImageProcessor p && minPixels == p.minPixels && maxPixels == p.maxPixels
                && patchSize == p.patchSize && temporalPatchSize == p.temporalPatchSize && mergeSize == p.mergeSize
                && Double.compare(rescaleFactor, p.rescaleFactor) == 0 && java.util.Arrays.equals(mean, p.mean)
                && java.util.Arrays.equals(std, p.std);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(minPixels, maxPixels, patchSize, temporalPatchSize, mergeSize, rescaleFactor,
                java.util.Arrays.hashCode(mean), java.util.Arrays.hashCode(std));
    }

    @Override
    public String toString() {
        return "QwenImageProcessor[pixels " + minPixels + ".." + maxPixels + ", patch " + patchSize + ", temporal "
                + temporalPatchSize + ", merge " + mergeSize + ", mean " + java.util.Arrays.toString(mean) + ", std "
                + java.util.Arrays.toString(std) + "]";
    }

    /** {@return the per-channel mean (a copy)} */
    @Override
    public float[] mean() {
        return mean.clone();
    }

    /** {@return the per-channel standard deviation (a copy)} */
    @Override
    public float[] std() {
        return std.clone();
    }

    /**
     * The size an image is resized to: each side rounded (half to even, as Python's {@code round}) to a multiple of
     * {@code patchSize * mergeSize}, then scaled down or up to stay within the pixel range.
     *
     * @param height the image's height
     * @param width  the image's width
     * @param source where the image came from, for the error
     * @return {height, width}
     * @throws IllegalArgumentException naming the source when a side is under the factor (28) or the aspect ratio
     *                                  is over {@value #MAX_ASPECT_RATIO}, as Hugging Face's processor refuses them
     */
    public int[] smartResize(int height, int width, String source) {
        int factor = patchSize * mergeSize;
        if (height < factor || width < factor) {
            throw new IllegalArgumentException(source + ": image of " + width + "x" + height + " has a side under "
                    + factor + " pixels, which the Qwen2-VL processor refuses");
        }
        if ((double) Math.max(height, width) / Math.min(height, width) > MAX_ASPECT_RATIO) {
            throw new IllegalArgumentException(source + ": image of " + width + "x" + height + " has an aspect ratio "
                    + "over " + MAX_ASPECT_RATIO + ", which the Qwen2-VL processor refuses");
        }
        long h = (long) Math.rint((double) height / factor) * factor;
        long w = (long) Math.rint((double) width / factor) * factor;
        if (h * w > maxPixels) {
            double beta = Math.sqrt((double) height * width / maxPixels);
            h = Math.max(factor, (long) Math.floor(height / beta / factor) * factor);
            w = Math.max(factor, (long) Math.floor(width / beta / factor) * factor);
        } else if (h * w < minPixels) {
            double beta = Math.sqrt((double) minPixels / ((double) height * width));
            h = (long) Math.ceil(height * beta / factor) * factor;
            w = (long) Math.ceil(width * beta / factor) * factor;
        }
        return new int[] {Math.toIntExact(h), Math.toIntExact(w)};
    }

    /**
     * Preprocesses one image.
     *
     * @param image  the image (RGB; alpha was dropped when it was read)
     * @param source where it came from (a file name), for errors
     * @return its pixel values and grid
     */
    public QwenPixelValues process(RgbImage image, String source) {
        int[] size = smartResize(image.height(), image.width(), source);
        int rh = size[0];
        int rw = size[1];
        RgbImage resized = PillowBicubic.resize(image, rw, rh);
        byte[] rgb = resized.toRgbBytes();
        float[] normalized = new float[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            int c = i % 3;
            float scaled = (float) ((rgb[i] & 0xff) * rescaleFactor);
            normalized[i] = (scaled - mean[c]) / std[c];
        }
        int gh = rh / patchSize;
        int gw = rw / patchSize;
        int t = temporalPatchSize;
        int patchDim = 3 * t * patchSize * patchSize;
        float[] values = new float[gh * gw * patchDim];
        int groupCols = gw / mergeSize;
        for (int ph = 0; ph < gh; ph++) {
            for (int pw = 0; pw < gw; pw++) {
                int bh = ph / mergeSize;
                int mh = ph % mergeSize;
                int bw = pw / mergeSize;
                int mw = pw % mergeSize;
                int row = (bh * groupCols + bw) * mergeSize * mergeSize + mh * mergeSize + mw;
                int rowBase = row * patchDim;
                for (int c = 0; c < 3; c++) {
                    for (int frame = 0; frame < t; frame++) {
                        for (int py = 0; py < patchSize; py++) {
                            int y = ph * patchSize + py;
                            int col = ((c * t + frame) * patchSize + py) * patchSize;
                            int src = 3 * (y * rw + pw * patchSize) + c;
                            for (int px = 0; px < patchSize; px++) {
                                values[rowBase + col + px] = normalized[src + 3 * px];
                            }
                        }
                    }
                }
            }
        }
        return new QwenPixelValues(values, 1, gh, gw, patchDim, mergeSize);
    }

    private static float[] floats(JsonNode node, float[] fallback) {
        if (node.isMissingNode() || node.isNull()) {
            return fallback;
        }
        if (!node.isArray()) {
            throw new IllegalArgumentException("expected a list of 3 numbers, got " + node);
        }
        float[] out = new float[node.size()];
        for (int i = 0; i < out.length; i++) {
            if (!node.get(i).isNumber()) {
                throw new IllegalArgumentException("expected numbers, got " + node);
            }
            out[i] = (float) node.get(i).asDouble();
        }
        return out;
    }
}
