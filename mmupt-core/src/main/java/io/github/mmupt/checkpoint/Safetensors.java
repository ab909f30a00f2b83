package io.github.mmupt.checkpoint;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes float32 tensors in the safetensors format (huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header mapping each name to its dtype, shape and byte range, an optional
 * {@code __metadata__} map of strings, then the raw little-endian data. Files are written atomically.
 *
 * <pre>{@code
 * Safetensors.write(file, Map.of("weight", new Safetensors.Tensor(new long[] {V, d}, w)), Map.of("step", "12"));
 * }</pre>
 */
public final class Safetensors {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;
    /** Highest tensor rank accepted on read: the head's tensors have rank 2, real checkpoints at most 5 or so. */
    static final int MAX_RANK = 8;

    /** A float32 tensor: its shape and row-major values. */
    public record Tensor(long[] shape, float[] values) {
        /**
         * Checks the components; the class description gives the range of each.
         *
         * @param shape the component {@code shape}, described with the class
         * @param values the component {@code values}, described with the class
         */
        public Tensor {
            if (shape == null || values == null) {
                throw new IllegalArgumentException("shape and values must not be null");
            }
            long n = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape)
                            + " has a negative dimension");
                }
                n = Math.multiplyExact(n, d);
            }
            if (n != values.length) {
                throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " needs " + n
                        + " values, got " + values.length);
            }
        }
    }

    /** A file's tensors, in file order, and its metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    private Safetensors() {
    }

    /**
     * Writes float32 tensors and string metadata as one safetensors file, atomically.
     *
     * @param file where to write
     * @param tensors the tensors by name, in file order
     * @param metadata the {@code __metadata__} strings (may be empty)
     * @throws IOException when writing fails
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long bytes = 4L * e.getValue().values().length;
            header.put(e.getKey(), Map.of("dtype", "F32", "shape", e.getValue().shape(),
                    "data_offsets", List.of(offset, offset + bytes)));
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // the data starts 8-byte aligned; the header is padded with spaces
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            for (Tensor t : tensors.values()) {
                ByteBuffer data = ByteBuffer.allocate(4 * t.values().length).order(ByteOrder.LITTLE_ENDIAN);
                data.asFloatBuffer().put(t.values());
                out.write(data.array());
            }
        });
    }

    /**
     * Reads a file written by {@link #write}. Every header field is checked before any data is touched: dtype
     * {@code F32}, a shape of at most {@value #MAX_RANK} non-negative dimensions whose product (exact arithmetic)
     * matches the byte range, and byte ranges that lie inside the file, do not overlap and together cover the
     * data section exactly. A violation is an {@link IOException} naming the file and the tensor.
     *
     * @param file a safetensors file
     * @return its tensors and metadata
     * @throws IOException when the file breaks any of the rules above
     */
    public static Contents read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 8) {
            throw new IOException(file + " is not a safetensors file: shorter than its 8-byte header length");
        }
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
            throw new IOException(file + " is not a safetensors file: header length " + headerLength + " does not fit "
                    + "its " + bytes.length + " bytes");
        }
        Map<String, Object> header;
        try {
            header = JSON.readValue(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8).strip(),
                    new TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw new IOException(file + " has an unreadable safetensors header: " + e.getMessage(), e);
        }
        if (header == null) {
            throw new IOException(file + " has an empty safetensors header (null)");
        }
        long dataStart = 8 + headerLength;
        long dataLength = bytes.length - dataStart;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> meta)) {
                    throw new IOException(file + ": __metadata__ must be a map of strings, got " + brief(e.getValue()));
                }
                meta.forEach((k, v) -> metadata.put(String.valueOf(k), String.valueOf(v)));
                continue;
            }
            TensorEntry entry = entry(file, e.getKey(), e.getValue(), dataLength);
            ranges.add(new long[] {entry.begin, entry.end});
            float[] values = new float[(int) ((entry.end - entry.begin) / 4)];
            ByteBuffer.wrap(bytes, (int) (dataStart + entry.begin), (int) (entry.end - entry.begin))
                    .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            tensors.put(e.getKey(), new Tensor(entry.shape, values));
        }
        checkRangesTile(file, ranges, dataLength);
        return new Contents(tensors, metadata);
    }

    private record TensorEntry(long[] shape, long begin, long end) {
    }

    private static TensorEntry entry(Path file, String name, Object value, long dataLength) throws IOException {
        String where = file + ": tensor " + name;
        if (!(value instanceof Map<?, ?> info) || !(info.get("shape") instanceof List<?> shapeList)
                || !(info.get("data_offsets") instanceof List<?> range) || range.size() != 2
                || !shapeList.stream().allMatch(x -> x instanceof Integer || x instanceof Long)
                || !range.stream().allMatch(x -> x instanceof Integer || x instanceof Long)) {
            throw new IOException(where + " needs dtype, a shape of integers and two integer data_offsets in the "
                    + "header, got " + brief(value));
        }
        if (!"F32".equals(info.get("dtype"))) {
            throw new IOException(where + " has dtype " + brief(info.get("dtype")) + "; only F32 is supported");
        }
        if (shapeList.size() > MAX_RANK) {
            throw new IOException(where + " has rank " + shapeList.size() + "; at most " + MAX_RANK + " is supported");
        }
        long[] shape = new long[shapeList.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = ((Number) shapeList.get(i)).longValue();
            if (shape[i] < 0) {
                throw new IOException(where + " has a negative dimension " + shape[i] + " in shape " + shapeList);
            }
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new IOException(where + " has shape " + shapeList + ", whose element count overflows", overflow);
            }
        }
        long begin = ((Number) range.get(0)).longValue();
        long end = ((Number) range.get(1)).longValue();
        if (begin < 0 || end < begin || end > dataLength) {
            throw new IOException(where + " has data range [" + begin + ", " + end + ") outside the data section of "
                    + dataLength + " bytes");
        }
        if (elements > Integer.MAX_VALUE / 4 || elements * 4 != end - begin) {
            throw new IOException(where + " has shape " + shapeList + " (" + elements + " float32 values, "
                    + "needing " + (elements > Long.MAX_VALUE / 4 ? "too many" : String.valueOf(elements * 4))
                    + " bytes), but its data range [" + begin + ", " + end + ") holds " + (end - begin) + " bytes");
        }
        return new TensorEntry(shape, begin, end);
    }

    /** The ranges must not overlap and must cover the data section without gaps, as the format requires. */
    private static void checkRangesTile(Path file, List<long[]> ranges, long dataLength) throws IOException {
        ranges.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        long next = 0;
        for (long[] r : ranges) {
            if (r[0] < next) {
                throw new IOException(file + ": tensor data ranges overlap at byte " + r[0] + " (a range ends at "
                        + next + ")");
            }
            if (r[0] > next) {
                throw new IOException(file + ": tensor data ranges leave bytes [" + next + ", " + r[0] + ") unused");
            }
            next = r[1];
        }
        if (next != dataLength) {
            throw new IOException(file + ": tensor data ranges cover " + next + " of the data section's " + dataLength
                    + " bytes");
        }
    }

    private static String brief(Object value) {
        String s = String.valueOf(value);
        return s.length() <= 200 ? s : s.substring(0, 200) + "... (" + s.length() + " characters)";
    }
}
