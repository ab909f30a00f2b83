package io.github.mmupt.prompt;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Decoded pixels of images read from files, kept up to a byte budget and dropped least recently used first, so
 * a dataset of thousands of photos costs memory for the few a step uses, not for all of them. Thread-safe.
 *
 * <pre>{@code
 * ImageCache cache = new ImageCache(512L << 20);   // shared by two datasets: 512 MB of pixels in all
 * Dataset train = JsonlDataset.reader().imageCache(cache).read(trainFile);
 * Dataset test = JsonlDataset.reader().imageCache(cache).read(testFile);
 * }</pre>
 */
public final class ImageCache {

    /** The budget of a reader that is given no cache: 256 MB of decoded pixels. */
    public static final long DEFAULT_BYTES = 256L << 20;

    private final long maxBytes;
    private final LinkedHashMap<Object, byte[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long decodes;

    /**
     * A cache holding at most {@code maxBytes} bytes of pixels (an image larger than that is decoded each time).
     *
     * @param maxBytes the budget in bytes
     */
    public ImageCache(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /** {@return the budget in bytes} */
    public long maxBytes() {
        return maxBytes;
    }

    /** {@return bytes of pixels held now} */
    public synchronized long bytes() {
        return bytes;
    }

    /** {@return how many times an image had to be decoded (misses): a measure of how well the budget fits the data} */
    public synchronized long decodes() {
        return decodes;
    }

    /** The pixels under {@code key}, decoded by {@code decode} when absent (outside the lock). */
    byte[] get(Object key, Supplier<byte[]> decode) {
        synchronized (this) {
            byte[] hit = entries.get(key);
            if (hit != null) {
                return hit;
            }
            decodes++;
        }
        byte[] pixels = decode.get();
        synchronized (this) {
            if (pixels.length <= maxBytes && !entries.containsKey(key)) {
                entries.put(key, pixels);
                bytes += pixels.length;
                var it = entries.entrySet().iterator();
                while (bytes > maxBytes && it.hasNext()) {
                    Map.Entry<Object, byte[]> eldest = it.next();
                    bytes -= eldest.getValue().length;
                    it.remove();
                }
            }
        }
        return pixels;
    }

    @Override
    public synchronized String toString() {
        return "ImageCache[" + entries.size() + " images, " + bytes + " of " + maxBytes + " bytes]";
    }
}
