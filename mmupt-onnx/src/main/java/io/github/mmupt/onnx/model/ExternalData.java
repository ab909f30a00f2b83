package io.github.mmupt.onnx.model;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * ONNX external data ({@code .onnx_data} files): initializers whose bytes live in a file beside the model,
 * referenced by {@code location}, {@code offset} and {@code length}. Reading inlines them (part 1 of the real
 * model work: the model then lives in memory whole, so it must stay under protobuf's 2 GB); writing moves
 * large initializers back out, so an exported model keeps the layout of the one it came from.
 *
 * <p>The files are untrusted: a location must be a plain file name in the model's directory, and offset and
 * length must lie inside that file; a violation names the model, the initializer and the value.
 */
final class ExternalData {

    /** Initializers at least this large go to the data file when writing (as the ONNX tools default to). */
    static final int THRESHOLD_BYTES = 1024;

    private ExternalData() {
    }

    /** The model with every external initializer's bytes read into {@code raw_data}. */
    static ModelProto inline(ModelProto proto, Path modelFile) throws IOException {
        GraphProto.Builder graph = proto.getGraph().toBuilder();
        boolean any = false;
        Map<Path, RandomAccessFile> open = new HashMap<>();
        try {
            for (int i = 0; i < graph.getInitializerCount(); i++) {
                TensorProto t = graph.getInitializer(i);
                if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                    continue;
                }
                any = true;
                graph.setInitializer(i, read(t, modelFile, open));
            }
        } finally {
            for (RandomAccessFile f : open.values()) {
                f.close();
            }
        }
        return any ? proto.toBuilder().setGraph(graph).build() : proto;
    }

    private static TensorProto read(TensorProto t, Path modelFile, Map<Path, RandomAccessFile> open)
            throws IOException {
        String where = modelFile.toAbsolutePath() + ": initializer " + t.getName();
        Map<String, String> keys = new HashMap<>();
        for (StringStringEntryProto e : t.getExternalDataList()) {
            keys.put(e.getKey(), e.getValue());
        }
        String location = keys.get("location");
        if (location == null || location.isBlank()) {
            throw new IOException(where + " is external but names no location");
        }
        Path data;
        try {
            Path relative = Path.of(location);
            if (relative.isAbsolute() || relative.getNameCount() != 1 || location.contains("..")) {
                throw new IOException(where + ": external data location '" + location + "' must be a plain file "
                        + "name beside the model");
            }
            data = modelFile.toAbsolutePath().resolveSibling(relative);
        } catch (InvalidPathException e) {
            throw new IOException(where + ": external data location '" + location + "' is not a valid file name", e);
        }
        if (!Files.isRegularFile(data)) {
            throw new IOException(where + ": its external data file " + data + " is missing");
        }
        long offset = number(keys.get("offset"), 0, where + " offset");
        long size = Files.size(data);
        long length = number(keys.get("length"), size - offset, where + " length");
        if (offset < 0 || length < 0 || offset > size || length > size - offset || length > Integer.MAX_VALUE - 8) {
            throw new IOException(where + ": external data [" + offset + ", " + offset + " + " + length + ") lies "
                    + "outside " + data.getFileName() + " (" + size + " bytes)");
        }
        RandomAccessFile f = open.get(data);
        if (f == null) {
            f = new RandomAccessFile(data.toFile(), "r");
            open.put(data, f);
        }
        byte[] bytes = new byte[(int) length];
        f.seek(offset);
        f.readFully(bytes);
        return t.toBuilder().clearExternalData().clearDataLocation()
                .setRawData(ByteString.copyFrom(bytes)).build();
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

    /** A model whose large initializers point into a data file, and that file's bytes. */
    record Split(ModelProto model, byte[] data) {
    }

    /** Moves every initializer of at least {@link #THRESHOLD_BYTES} raw bytes to {@code dataFileName}. */
    static Split split(ModelProto proto, String dataFileName) {
        GraphProto.Builder graph = proto.getGraph().toBuilder();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            TensorProto t = graph.getInitializer(i);
            if (t.getRawData().size() < THRESHOLD_BYTES) {
                continue;
            }
            long offset = data.size();
            byte[] raw = t.getRawData().toByteArray();
            data.write(raw, 0, raw.length);
            graph.setInitializer(i, t.toBuilder().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", dataFileName))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(t.getRawData().size()))).build());
        }
        return new Split(proto.toBuilder().setGraph(graph).build(), data.toByteArray());
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
