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
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    int v = this == ROTATE_CHANNELS ? in[(y * w + x) * 3 + (c + 2) % 3] & 0xff : blockMean(in, w, h, x, y, c);
                    out[(y * w + x) * 3 + c] = (byte) v;
                }
            }
        }
        return RgbImage.of(w, h, out);
    }

    private static int blockMean(byte[] in, int w, int h, int x, int y, int c) {
        int x0 = x / 4 * 4;
        int y0 = y / 4 * 4;
        int sum = 0;
        int n = 0;
        for (int yy = y0; yy < Math.min(h, y0 + 4); yy++) {
            for (int xx = x0; xx < Math.min(w, x0 + 4); xx++) {
                sum += in[(yy * w + xx) * 3 + c] & 0xff;
                n++;
            }
        }
        return Math.round((float) sum / n);
    }
}
