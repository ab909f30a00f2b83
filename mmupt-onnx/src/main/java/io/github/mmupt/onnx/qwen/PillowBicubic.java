package io.github.mmupt.onnx.qwen;

import io.github.mmupt.prompt.RgbImage;

/**
 * Pillow's BICUBIC resize of an 8-bit RGB image, bit for bit ({@code src/libImaging/Resample.c}): separable, the
 * horizontal pass first over only the rows the vertical pass reads, Keys' cubic with a = -0.5 stretched by the
 * scale when shrinking, weights normalised in double and then made fixed point with 22 fractional bits, each
 * pass rounding (the accumulator starts at one half) and clamping to 0..255. Hugging Face's Qwen2-VL processor
 * resizes with Pillow, so the model saw exactly these bytes in training; a float resize is off by one level
 * in a fair share of pixels.
 */
final class PillowBicubic {

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private PillowBicubic() {}

    /** {@return {@code image} resized to {@code width} x {@code height} as Pillow's {@code Image.resize} does} */
    static RgbImage resize(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be positive, got " + width + "x" + height);
        }
        int inW = image.width();
        int inH = image.height();
        byte[] pixels = image.toRgbBytes();
        Coefficients horizontal = Coefficients.of(inW, width);
        Coefficients vertical = Coefficients.of(inH, height);
        boolean needHorizontal = width != inW;
        boolean needVertical = height != inH;
        int rowWidth = inW;
        int firstRow = 0;
        if (needHorizontal) {
            // only the rows the vertical pass reads; its bounds are then relative to the first of them
            firstRow = vertical.bounds[0];
            int rows = vertical.bounds[2 * height - 2] + vertical.bounds[2 * height - 1] - firstRow;
            pixels = horizontalPass(pixels, inW, firstRow, rows, horizontal, width);
            rowWidth = width;
        }
        if (needVertical) {
            pixels = verticalPass(pixels, rowWidth, firstRow, vertical, height);
        }
        return RgbImage.of(width, height, pixels);
    }

    private static byte[] horizontalPass(byte[] in, int inW, int firstRow, int rows, Coefficients k, int outW) {
        byte[] out = new byte[3 * outW * rows];
        for (int y = 0; y < rows; y++) {
            int rowIn = 3 * (y + firstRow) * inW;
            int rowOut = 3 * y * outW;
            for (int x = 0; x < outW; x++) {
                int min = k.bounds[2 * x];
                int n = k.bounds[2 * x + 1];
                int base = x * k.size;
                int s0 = 1 << (PRECISION_BITS - 1);
                int s1 = s0;
                int s2 = s0;
                for (int i = 0; i < n; i++) {
                    int w = k.fixed[base + i];
                    int p = rowIn + 3 * (min + i);
                    s0 += (in[p] & 0xff) * w;
                    s1 += (in[p + 1] & 0xff) * w;
                    s2 += (in[p + 2] & 0xff) * w;
                }
                out[rowOut + 3 * x] = clip8(s0);
                out[rowOut + 3 * x + 1] = clip8(s1);
                out[rowOut + 3 * x + 2] = clip8(s2);
            }
        }
        return out;
    }

    /** {@code in} holds rows from {@code firstRow} of the source: the vertical bounds are shifted by it. */
    private static byte[] verticalPass(byte[] in, int w, int firstRow, Coefficients k, int outH) {
        byte[] out = new byte[3 * w * outH];
        for (int y = 0; y < outH; y++) {
            int min = k.bounds[2 * y] - firstRow;
            int n = k.bounds[2 * y + 1];
            int base = y * k.size;
            for (int x = 0; x < w; x++) {
                int s0 = 1 << (PRECISION_BITS - 1);
                int s1 = s0;
                int s2 = s0;
                for (int i = 0; i < n; i++) {
                    int wt = k.fixed[base + i];
                    int p = 3 * ((min + i) * w + x);
                    s0 += (in[p] & 0xff) * wt;
                    s1 += (in[p + 1] & 0xff) * wt;
                    s2 += (in[p + 2] & 0xff) * wt;
                }
                int o = 3 * (y * w + x);
                out[o] = clip8(s0);
                out[o + 1] = clip8(s1);
                out[o + 2] = clip8(s2);
            }
        }
        return out;
    }

    private static byte clip8(int v) {
        if (v >= (1 << PRECISION_BITS << 8)) {
            return (byte) 255;
        }
        if (v <= 0) {
            return 0;
        }
        return (byte) (v >> PRECISION_BITS);
    }

    private static double cubic(double x) {
        final double a = -0.5;
        x = Math.abs(x);
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** Per output pixel: first input index, tap count, and the taps' fixed-point weights ({@code size} each). */
    private record Coefficients(int size, int[] bounds, int[] fixed) {

        static Coefficients of(int inSize, int outSize) {
            // Pillow computes the box edges as floats and the scale in double
            double scale = (double) (float) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = SUPPORT * filterScale;
            int size = (int) Math.ceil(support) * 2 + 1;
            int[] bounds = new int[2 * outSize];
            int[] fixed = new int[outSize * size];
            double[] k = new double[size];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                double ss = 1.0 / filterScale;
                int min = (int) (center - support + 0.5);
                if (min < 0) {
                    min = 0;
                }
                int max = (int) (center + support + 0.5);
                if (max > inSize) {
                    max = inSize;
                }
                max -= min;
                double total = 0.0;
                for (int x = 0; x < max; x++) {
                    double w = cubic((x + min - center + 0.5) * ss);
                    k[x] = w;
                    total += w;
                }
                for (int x = 0; x < max; x++) {
                    double w = total != 0.0 ? k[x] / total : k[x];
                    fixed[xx * size + x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS)
                            : 0.5 + w * (1 << PRECISION_BITS));
                }
                bounds[2 * xx] = min;
                bounds[2 * xx + 1] = max;
            }
            return new Coefficients(size, bounds, fixed);
        }
    }
}
