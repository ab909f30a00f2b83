package io.github.mmupt.prompt;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

/**
 * An image as 8-bit RGB pixels, row-major, channels interleaved: byte {@code 3 * (y * width + x) + c}.
 * Immutable: the pixels are copied in and only copied out, so a prompt can be shared between threads.
 *
 * <pre>{@code
 * RgbImage image = RgbImage.read(Path.of("images/0001.png"));
 * int red = image.channel(10, 20, 0);
 * }</pre>
 */
public final class RgbImage {

    private final int width;
    private final int height;
    private final byte[] rgb; // (height, width, 3)

    private RgbImage(int width, int height, byte[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** An image from interleaved RGB bytes; {@code rgb.length} must be {@code 3 * width * height}. */
    public static RgbImage of(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb == null || (long) rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("an RGB image of " + width + "x" + height + " needs "
                    + 3L * width * height + " bytes, got " + (rgb == null ? "null" : rgb.length));
        }
        return new RgbImage(width, height, rgb.clone());
    }

    /** Converts any {@link BufferedImage}; alpha is dropped. */
    public static RgbImage from(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] rgb = new byte[3 * w * h];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                int o = 3 * (y * w + x);
                rgb[o] = (byte) (p >> 16);
                rgb[o + 1] = (byte) (p >> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** Reads a PNG, JPEG, BMP or GIF file. */
    public static RgbImage read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("image file not found: " + file.toAbsolutePath());
        }
        BufferedImage image = ImageIO.read(file.toFile());
        if (image == null) {
            throw new IOException("not a readable image (PNG, JPEG, BMP or GIF expected): " + file.toAbsolutePath());
        }
        return from(image);
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** One channel (0 red, 1 green, 2 blue) of one pixel, 0..255. */
    public int channel(int x, int y, int c) {
        if (x < 0 || x >= width || y < 0 || y >= height || c < 0 || c > 2) {
            throw new IndexOutOfBoundsException("pixel (" + x + ", " + y + ") channel " + c + " outside "
                    + width + "x" + height + "x3");
        }
        return rgb[3 * (y * width + x) + c] & 0xff;
    }

    /** A copy of the pixels, in the layout described above. */
    public byte[] toRgbBytes() {
        return rgb.clone();
    }

    public BufferedImage toBufferedImage() {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int o = 3 * (y * width + x);
                image.setRGB(x, y, ((rgb[o] & 0xff) << 16) | ((rgb[o + 1] & 0xff) << 8) | (rgb[o + 2] & 0xff));
            }
        }
        return image;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && width == other.width && height == other.height
                && Arrays.equals(rgb, other.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
