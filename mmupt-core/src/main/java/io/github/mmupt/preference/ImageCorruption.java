package io.github.mmupt.preference;

import io.github.mmupt.prompt.RgbImage;

/**
 * How STIC spoils an image so that responses to it are worse than responses to the real one (its "corrupted
 * image" dispreferred responses). Each corruption is deterministic.
 *
 * <ul>
 *   <li>{@link #NONE}: the real image (dispreferred responses then come from the poor prompt alone);</li>
 *   <li>{@link #ROTATE_CHANNELS}: red becomes green, green blue, blue red (STIC's colour jitter at its
 *       strongest: every colour-dependent fact changes, the layout does not);</li>
 *   <li>{@link #LOW_RESOLUTION}: each 4x4 block replaced by its mean (STIC's lower resolution; detail is lost,
 *       colour totals roughly kept).</li>
 * </ul>
 */
public enum ImageCorruption {
    /** The image unchanged. */
    NONE,
    /** R, G, B channels rotated. */
    ROTATE_CHANNELS,
    /** 4x4 block means. */
    LOW_RESOLUTION;

    /**
     * Applies the corruption.
     *
     * @param image the real image
     * @return the corrupted image (the same object for {@link #NONE})
     */
    public RgbImage apply(RgbImage image) {
        if (this == NONE) {
            return image;
        }
        int w = image.width();
        int h = image.height();
        byte[] in = image.toRgbBytes();
        byte[] out = new byte[in.length];
        if (this == ROTATE_CHANNELS) {
            for (int i = 0; i < in.length; i += 3) {
                out[i] = in[i + 2];
                out[i + 1] = in[i];
                out[i + 2] = in[i + 1];
            }
            return RgbImage.of(w, h, out);
        }
        // each 4x4 block (smaller at the right and bottom edges) gets its mean, computed once per block
        for (int y0 = 0; y0 < h; y0 += 4) {
            for (int x0 = 0; x0 < w; x0 += 4) {
                int y1 = Math.min(h, y0 + 4);
                int x1 = Math.min(w, x0 + 4);
                for (int c = 0; c < 3; c++) {
                    int sum = 0;
                    for (int y = y0; y < y1; y++) {
                        for (int x = x0; x < x1; x++) {
                            sum += in[(y * w + x) * 3 + c] & 0xff;
                        }
                    }
                    byte mean = (byte) Math.round((float) sum / ((y1 - y0) * (x1 - x0)));
                    for (int y = y0; y < y1; y++) {
                        for (int x = x0; x < x1; x++) {
                            out[(y * w + x) * 3 + c] = mean;
                        }
                    }
                }
            }
        }
        return RgbImage.of(w, h, out);
    }
}
