package io.github.mmupt.onnx.model;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * ONNX external data ({@code .onnx_data} files): initializers whose bytes live in a file beside the model,
 * referenced by {@code location}, {@code offset} and {@code length}. The bytes stay in their files: a model
 * is read as its graph (kilobytes to megabytes however large its weights), ONNX Runtime is pointed at the
 * folder, and one initializer is read only when asked for (the LM head). Writing streams every initializer to
 * the new data file through a bounded buffer, so a model of any size is written with megabytes of heap.
 *
 * <p>The files are untrusted: a location must be a plain file name in the model's directory, and offset and
 * length must lie inside that file and match the tensor's dimensions and element type; a violation names the
 * model, the initializer and the value.
 */
final class ExternalData {

    /** Initializers at least this large go to the data file when writing (as the ONNX tools default to). */
    static final int THRESHOLD_BYTES = 1024;
    /** How much is read or written at a time. */
    static final int CHUNK_BYTES = 1 << 20;
    /** The location of an initializer whose values an {@link OnnxModel} holds in memory until it is written. */
    static final String HELD = "mmupt:held-in-memory";

    private ExternalData() {
    }

    /** Where one initializer's bytes are. */
    record Ref(Path file, long offset, long length) {
    }

    static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    static boolean isHeld(TensorProto t) {
        return isExternal(t) && HELD.equals(keys(t).get("location"));
    }

    /** Checks every external initializer of a model read from {@code modelFile}, before anything uses it. */
    static void check(ModelProto proto, Path modelFile, String source) throws IOException {
        Path folder = modelFile.toAbsolutePath().getParent();
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            if (isExternal(t)) {
                ref(t, folder, source);
            }
        }
    }

    /** The checked location of an external initializer's bytes. */
    static Ref ref(TensorProto t, Path folder, String source) throws IOException {
        String where = source + ": initializer " + t.getName();
        Map<String, String> keys = keys(t);
        String location = keys.get("location");
        if (location == null || location.isBlank()) {
            throw new IOException(where + " is external but names no location");
        }
        if (HELD.equals(location)) {
            throw new IOException(where + ": location " + HELD + " is reserved for values held in memory");
        }
        Path data;
        try {
            Path relative = Path.of(location);
            if (relative.isAbsolute() || relative.getNameCount() != 1 || location.contains("..")) {
                throw new IOException(where + ": external data location '" + location + "' must be a plain file "
                        + "name beside the model");
            }
            data = folder.resolve(relative);
        } catch (InvalidPathException e) {
            throw new IOException(where + ": external data location '" + location + "' is not a valid file name", e);
        }
        if (!Files.isRegularFile(data)) {
            throw new IOException(where + ": its external data file " + data + " is missing");
        }
        long offset = number(keys.get("offset"), 0, where + " offset");
        long size = Files.size(data);
        long length = number(keys.get("length"), size - offset, where + " length");
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new IOException(where + ": external data [" + offset + ", " + offset + " + " + length + ") lies "
                    + "outside " + data.getFileName() + " (" + size + " bytes)");
        }
        long expected = expectedBytes(t);
        if (expected >= 0 && expected != length) {
            throw new IOException(where + " is " + TensorProto.DataType.forNumber(t.getDataType()) + " "
                    + t.getDimsList() + ", " + expected + " bytes, but its external data in " + data.getFileName()
                    + " is " + length + " bytes long");
        }
        return new Ref(data, offset, length);
    }

    /** Bytes a tensor of this type and shape occupies, or -1 for types of no fixed size. */
    static long expectedBytes(TensorProto t) {
        long elements = 1;
        for (long d : t.getDimsList()) {
            if (d < 0 || (d > 0 && elements > Long.MAX_VALUE / 8 / d)) {
                return -1;
            }
            elements *= d;
        }
        return switch (t.getDataType()) {
            case TensorProto.DataType.FLOAT_VALUE, TensorProto.DataType.INT32_VALUE,
                    TensorProto.DataType.UINT32_VALUE -> 4 * elements;
            case TensorProto.DataType.DOUBLE_VALUE, TensorProto.DataType.INT64_VALUE,
                    TensorProto.DataType.UINT64_VALUE -> 8 * elements;
            case TensorProto.DataType.FLOAT16_VALUE, TensorProto.DataType.BFLOAT16_VALUE,
                    TensorProto.DataType.INT16_VALUE, TensorProto.DataType.UINT16_VALUE -> 2 * elements;
            case TensorProto.DataType.INT8_VALUE, TensorProto.DataType.UINT8_VALUE,
                    TensorProto.DataType.BOOL_VALUE -> elements;
            default -> -1;
        };
    }

    /** One external initializer's bytes, little-endian; at most one Java array's worth. */
    static ByteBuffer read(Ref r, String what) throws IOException {
        if (r.length() > Integer.MAX_VALUE - 8) {
            throw new IOException(what + " is " + r.length() + " bytes, more than one Java array holds");
        }
        ByteBuffer out = ByteBuffer.allocate((int) r.length()).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel in = FileChannel.open(r.file(), StandardOpenOption.READ)) {
            long at = r.offset();
            while (out.hasRemaining()) {
                int n = in.read(out, at);
                if (n < 0) {
                    throw new IOException(what + ": " + r.file() + " ended early");
                }
                at += n;
            }
        }
        return out.flip();
    }

    /** A float32 external initializer read straight into floats, a chunk at a time (it may exceed 2 GB). */
    static float[] readFloats(Ref r, String what) throws IOException {
        if (r.length() / 4 > Integer.MAX_VALUE - 8) {
            throw new IOException(what + " has " + r.length() / 4 + " floats, more than one Java array holds");
        }
        float[] out = new float[(int) (r.length() / 4)];
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel in = FileChannel.open(r.file(), StandardOpenOption.READ)) {
            long at = r.offset();
            int filled = 0;
            while (filled < out.length) {
                chunk.clear().limit((int) Math.min(CHUNK_BYTES, 4L * (out.length - filled)));
                while (chunk.hasRemaining()) {
                    int n = in.read(chunk, at);
                    if (n < 0) {
                        throw new IOException(what + ": " + r.file() + " ended early");
                    }
                    at += n;
                }
                chunk.flip();
                int count = chunk.remaining() / 4;
                chunk.asFloatBuffer().get(out, filled, count);
                filled += count;
            }
        }
        return out;
    }

    /** Copies one external initializer's bytes to {@code out} through a bounded buffer. */
    static void copy(Ref r, OutputStream out, byte[] buffer) throws IOException {
        try (FileChannel in = FileChannel.open(r.file(), StandardOpenOption.READ)) {
            long at = r.offset();
            long left = r.length();
            ByteBuffer wrap = ByteBuffer.wrap(buffer);
            while (left > 0) {
                wrap.clear().limit((int) Math.min(buffer.length, left));
                int n = in.read(wrap, at);
                if (n < 0) {
                    throw new IOException(r.file() + " ended early");
                }
                out.write(buffer, 0, n);
                at += n;
                left -= n;
            }
        }
    }

    /** Floats as little-endian bytes through a bounded buffer. */
    static void copy(float[] values, OutputStream out, byte[] buffer) throws IOException {
        ByteBuffer wrap = ByteBuffer.wrap(buffer).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = buffer.length / 4;
        for (int from = 0; from < values.length; from += perChunk) {
            int n = Math.min(perChunk, values.length - from);
            wrap.clear();
            wrap.asFloatBuffer().put(values, from, n);
            out.write(buffer, 0, 4 * n);
        }
    }

    /**
     * Writes {@code model}'s graph to {@code file} and every initializer of at least {@link #THRESHOLD_BYTES}
     * (external, held in memory or inline) to {@code dataFileName} beside it, streamed; each file atomically,
     * the data first, so a crash leaves no graph pointing at a missing file.
     */
    static void write(OnnxModel model, Path file, String dataFileName) throws IOException {
        GraphProto.Builder graph = model.graph().toBuilder();
        Path dataFile = file.toAbsolutePath().resolveSibling(dataFileName);
        byte[] buffer = new byte[CHUNK_BYTES];
        AtomicFiles.write(dataFile, out -> {
            long offset = 0;
            for (int i = 0; i < graph.getInitializerCount(); i++) {
                TensorProto t = graph.getInitializer(i);
                long length;
                if (isHeld(t)) {
                    float[] values = model.held(t.getName());
                    copy(values, out, buffer);
                    length = 4L * values.length;
                } else if (isExternal(t)) {
                    Ref r = model.ref(t);
                    copy(r, out, buffer);
                    length = r.length();
                } else if (t.getRawData().size() >= THRESHOLD_BYTES) {
                    t.getRawData().writeTo(out);
                    length = t.getRawData().size();
                } else {
                    continue;
                }
                graph.setInitializer(i, t.toBuilder().clearRawData().clearExternalData()
                        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", dataFileName))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(length))).build());
                offset += length;
            }
        });
        AtomicFiles.write(file, model.proto().toBuilder().setGraph(graph).build().toByteArray());
    }

    static Map<String, String> keys(TensorProto t) {
        Map<String, String> keys = new HashMap<>();
        for (StringStringEntryProto e : t.getExternalDataList()) {
            keys.put(e.getKey(), e.getValue());
        }
        return keys;
    }

    private static long number(String text, long fallback, String what) throws IOException {
        if (text == null) {
            return fallback;
        }
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IOException(what + " is '" + text + "', not a number", e);
        }
    }

    static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
