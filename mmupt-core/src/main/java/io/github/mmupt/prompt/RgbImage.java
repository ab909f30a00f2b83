package io.github.mmupt.prompt;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Optional;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.ImageIO;

/**
 * An image as 8-bit RGB pixels, row-major, channels interleaved: byte {@code 3 * (y * width + x) + c}.
 * Immutable: the pixels are copied in and only copied out, so a prompt can be shared between threads.
 *
 * <p>An image {@linkplain #open opened} from a file knows its size from the file's header and decodes its pixels
 * only when they are asked for, through an {@link ImageCache}; {@link #read} decodes at once. Both check the size
 * in the header against a pixel budget ({@link #DEFAULT_MAX_PIXELS} unless given) before decoding anything, so a
 * small file that claims a huge picture (a decompression bomb) is refused, not decoded.
 *
 * <pre>{@code
 * RgbImage image = RgbImage.read(Path.of("images/0001.png"));
 * int red = image.channel(10, 20, 0);
 * }</pre>
 */
public final class RgbImage {

    /**
     * Pixels an image may have unless a reader says otherwise: 64 million (8000 x 8000, 192 MB decoded), above
     * any camera photo and far above what vision encoders take (Qwen2-VL resizes to at most about 12.8 million).
     */
    public static final long DEFAULT_MAX_PIXELS = 64L * 1000 * 1000;

    private final int width;
    private final int height;
    private final byte[] rgb; // (height, width, 3); null while an opened image is not decoded here
    private final Path file;  // the source of an opened image, else null
    private final ImageCache cache;

    private RgbImage(int width, int height, byte[] rgb, Path file, ImageCache cache) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
        this.file = file;
        this.cache = cache;
    }

    /**
     * An image from interleaved RGB bytes; {@code rgb.length} must be {@code 3 * width * height}.
     *
     * @param width the width in pixels
     * @param height the height in pixels
     * @param rgb 3 x width x height bytes (copied)
     * @return the image
     */
    public static RgbImage of(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb == null || (long) rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("an RGB image of " + width + "x" + height + " needs "
                    + 3L * width * height + " bytes, got " + (rgb == null ? "null" : rgb.length));
        }
        return new RgbImage(width, height, rgb.clone(), null, null);
    }

    /**
     * Converts any {@link BufferedImage}; alpha is dropped.
     *
     * @param image any image
     * @return its pixels as RGB
     */
    public static RgbImage from(BufferedImage image) {
        return new RgbImage(image.getWidth(), image.getHeight(), pixelsOf(image), null, null);
    }

    private static byte[] pixelsOf(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        long size = 3L * w * h;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("an image of " + w + "x" + h + " needs " + size + " bytes of RGB, more "
                    + "than a Java array holds");
        }
        byte[] rgb = new byte[(int) size];
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
        return rgb;
    }

    /**
     * Reads a PNG, JPEG, BMP or GIF file now, within {@link #DEFAULT_MAX_PIXELS}.
     *
     * @param file an image file
     * @return the image, decoded
     * @throws IOException when the file is missing, not an image, or over the budget
     */
    public static RgbImage read(Path file) throws IOException {
        RgbImage header = open(file, new ImageCache(0), DEFAULT_MAX_PIXELS);
        return new RgbImage(header.width, header.height, header.decode(), null, null);
    }

    /**
     * Opens a PNG, JPEG, BMP or GIF file: reads its header now (format and size, checked against
     * {@code maxPixels}) and decodes its pixels when they are first needed, through {@code cache}.
     *
     * @param file an image file
     * @param cache where its pixels are kept once decoded
     * @param maxPixels the largest width x height accepted
     * @return the image, not yet decoded
     * @throws IOException when the file is missing, not an image, or larger than {@code maxPixels}; the message
     *                     names the file
     */
    public static RgbImage open(Path file, ImageCache cache, long maxPixels) throws IOException {
        if (cache == null || maxPixels <= 0) {
            throw new IllegalArgumentException("need a cache and a positive pixel budget, got " + cache + ", " + maxPixels);
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException("image file not found: " + file.toAbsolutePath());
        }
        int[] size = headerSize(file);
        if (size == null) {
            throw new IOException("not a readable image (PNG, JPEG, BMP or GIF expected): " + file.toAbsolutePath());
        }
        int w = size[0];
        int h = size[1];
        if (w <= 0 || h <= 0) {
            throw new IOException("image " + file.toAbsolutePath() + " claims a size of " + w + "x" + h);
        }
        if ((long) w * h > maxPixels) {
            throw new IOException("image " + file.toAbsolutePath() + " is " + w + "x" + h + " = " + (long) w * h
                    + " pixels, over the budget of " + maxPixels + " (raise it with the reader's maxImagePixels)");
        }
        return new RgbImage(w, h, null, file.toAbsolutePath(), cache);
    }

    /** Width and height from the file's header, nothing decoded; null when no image reader knows the format. */
    private static int[] headerSize(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new int[] {reader.getWidth(0), reader.getHeight(0)};
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException("not a readable image (" + e.getMessage() + "): " + file.toAbsolutePath(), e);
        }
    }

    /** Decodes an opened image's file, checking it still has the size its header had. */
    private byte[] decode() {
        try {
            BufferedImage image = ImageIO.read(file.toFile());
            if (image == null) {
                throw new IOException("no longer a readable image");
            }
            if (image.getWidth() != width || image.getHeight() != height) {
                throw new IOException("decoded to " + image.getWidth() + "x" + image.getHeight() + ", but its header said "
                        + width + "x" + height);
            }
            return pixelsOf(image);
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(new IOException("image " + file + ": " + e.getMessage(), e));
        }
    }

    /** The pixels, decoded through the cache for an opened image; never modify the array returned. */
    private byte[] pixels() {
        return rgb != null ? rgb : cache.get(file, this::decode);
    }

    /** {@return the file an opened image reads its pixels from; empty for an image held in memory} */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** {@return the width in pixels} */
    public int width() {
        return width;
    }

    /** {@return the height in pixels} */
    public int height() {
        return height;
    }

    /**
     * One channel (0 red, 1 green, 2 blue) of one pixel, 0..255.
     *
     * @param x the column
     * @param y the row
     * @param c the channel
     * @return its value, 0..255
     */
    public int channel(int x, int y, int c) {
        if (x < 0 || x >= width || y < 0 || y >= height || c < 0 || c > 2) {
            throw new IndexOutOfBoundsException("pixel (" + x + ", " + y + ") channel " + c + " outside "
                    + width + "x" + height + "x3");
        }
        return pixels()[3 * (y * width + x) + c] & 0xff;
    }

    /** {@return a copy of the pixels, in the layout described above} */
    public byte[] toRgbBytes() {
        return pixels().clone();
    }

    /** {@return a new BufferedImage of the pixels} */
    public BufferedImage toBufferedImage() {
        byte[] rgb = pixels();
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
                && (o == this || Arrays.equals(pixels(), other.pixels()));
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(pixels());
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + (file == null ? "" : ", " + file) + "]";
    }
}
