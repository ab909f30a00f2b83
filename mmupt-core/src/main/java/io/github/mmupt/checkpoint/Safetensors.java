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

    /** A float32 tensor: its shape and row-major values. */
    public record Tensor(long[] shape, float[] values) {
        public Tensor {
            long n = 1;
            for (long d : shape) {
                n *= d;
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
        long dataStart = 8 + headerLength;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                ((Map<?, ?>) e.getValue()).forEach((k, v) -> metadata.put(String.valueOf(k), String.valueOf(v)));
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> info) || !(info.get("shape") instanceof List<?> shapeList)
                    || !(info.get("data_offsets") instanceof List<?> range) || range.size() != 2
                    || !shapeList.stream().allMatch(Number.class::isInstance)
                    || !range.stream().allMatch(Number.class::isInstance)) {
                throw new IOException(file + ": tensor " + e.getKey() + " needs dtype, a numeric shape and two "
                        + "data_offsets in the header, got " + e.getValue());
            }
            if (!"F32".equals(info.get("dtype"))) {
                throw new IOException(file + ": tensor " + e.getKey() + " has dtype " + info.get("dtype")
                        + "; only F32 is supported");
            }
            long[] shape = shapeList.stream().mapToLong(x -> ((Number) x).longValue()).toArray();
            long start = dataStart + ((Number) range.get(0)).longValue();
            long end = dataStart + ((Number) range.get(1)).longValue();
            if (start < dataStart || end > bytes.length || end < start || (end - start) % 4 != 0) {
                throw new IOException(file + ": tensor " + e.getKey() + " has data range [" + start + ", " + end
                        + ") outside the file's " + bytes.length + " bytes");
            }
            float[] values = new float[(int) ((end - start) / 4)];
            ByteBuffer.wrap(bytes, (int) start, (int) (end - start)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            try {
                tensors.put(e.getKey(), new Tensor(shape, values));
            } catch (IllegalArgumentException ex) {
                throw new IOException(file + ": tensor " + e.getKey() + ": " + ex.getMessage(), ex);
            }
        }
        return new Contents(tensors, metadata);
    }
}
