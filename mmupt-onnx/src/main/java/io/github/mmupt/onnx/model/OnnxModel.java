package io.github.mmupt.onnx.model;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An ONNX model: its graph in memory (read, inspect inputs, outputs, initializers and opset, modify through its
 * protobuf, write), its weights wherever they are. The protobuf classes come from {@code tribuo-util-onnx};
 * nothing of {@code onnx.proto} is copied here.
 *
 * <p>Weights kept in external data files ({@code .onnx_data} beside the model) stay there: {@link #read} takes
 * the graph only and checks every reference (a plain file name beside the model, a range inside the file, a
 * length that matches the tensor), ONNX Runtime reads the files itself ({@link #externalDataFolder()}), and an
 * initializer is read when asked for ({@link #initializer}). So a model of any size opens with the heap its graph
 * needs; only the graph must stay under protobuf's 2 GB. {@link #write(Path, String)} streams the weights to a
 * new data file. Unsupported files fail with a message naming the file and the reason: not a model, no graph, or
 * external data that is missing, points outside its file or does not match its tensor.
 *
 * <pre>{@code
 * OnnxModel decoder = OnnxModel.read(dir.resolve("decoder.onnx"));
 * decoder.inputs().forEach(i -> System.out.println(i.name() + " " + i.shapeText()));
 * }</pre>
 */
public final class OnnxModel {

    /** protobuf refuses messages of 2 GB and more. */
    private static final long PROTOBUF_LIMIT = Integer.MAX_VALUE;

    private final ModelProto proto;
    private final String source;
    /** Where external data locations resolve; null for a model built in memory. */
    private final Path folder;
    /** Float initializers held outside the protobuf until written (a trained head may exceed 2 GB). */
    private final Map<String, float[]> held;

    private OnnxModel(ModelProto proto, String source, Path folder, Map<String, float[]> held) {
        this.proto = proto;
        this.source = source;
        this.folder = folder;
        this.held = held;
    }

    /**
     * Reads a model file: its graph, with external data checked and left in its files.
     *
     * @param file an .onnx file
     * @return the model
     * @throws IOException when the file is missing or not an ONNX model, or its external data is missing or
     *     does not match its tensors
     */
    public static OnnxModel read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("ONNX model file not found: " + file.toAbsolutePath());
        }
        String source = file.toAbsolutePath().toString();
        long size = Files.size(file);
        if (size >= PROTOBUF_LIMIT) {
            throw new IOException(source + " is " + size + " bytes: a protobuf message must stay under 2 GB, so a "
                    + "model this large keeps its weights in external data files (onnx.save_model(..., "
                    + "save_as_external_data=True))");
        }
        ModelProto proto = parseProto(Files.readAllBytes(file), source);
        ExternalData.check(proto, file, source);
        return checked(proto, source, file.toAbsolutePath().getParent(), Map.of());
    }

    /**
     * Parses model bytes; {@code source} names them in errors.
     *
     * @param bytes serialized ModelProto
     * @param source what to call it in errors
     * @return the model
     * @throws IOException when the bytes are not an ONNX model with a graph
     */
    public static OnnxModel parse(byte[] bytes, String source) throws IOException {
        return of(parseProto(bytes, source), source);
    }

    private static ModelProto parseProto(byte[] bytes, String source) throws IOException {
        try {
            return ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IOException(source + " is not an ONNX model (protobuf parse failed: " + e.getMessage() + ")", e);
        }
    }

    /**
     * Wraps a model built in memory.
     *
     * @param proto the model
     * @param source what to call it in errors
     * @return the model
     * @throws IOException when it has no graph nodes, or refers to external data (which only a model read from
     *     its file can resolve)
     */
    public static OnnxModel of(ModelProto proto, String source) throws IOException {
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            if (ExternalData.isExternal(t)) {
                throw new IOException(source + ": initializer " + t.getName() + " keeps its data in an external file; "
                        + "read the model from its file (OnnxModel.read), which resolves external data");
            }
        }
        return checked(proto, source, null, Map.of());
    }

    private static OnnxModel checked(ModelProto proto, String source, Path folder, Map<String, float[]> held)
            throws IOException {
        if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new IOException(source + " is not a usable ONNX model: it has no graph nodes");
        }
        return new OnnxModel(proto, source, folder, held);
    }

    /** {@return the protobuf} */
    public ModelProto proto() {
        return proto;
    }

    /** {@return the graph} */
    public GraphProto graph() {
        return proto.getGraph();
    }

    /**
     * Where the model came from, for messages.
     *
     * @return a path or a name
     */
    public String source() {
        return source;
    }

    /**
     * The default-domain opset version, or -1 when none is declared.
     *
     * @return the opset version
     */
    public long opsetVersion() {
        for (OperatorSetIdProto op : proto.getOpsetImportList()) {
            if (op.getDomain().isEmpty() || op.getDomain().equals("ai.onnx")) {
                return op.getVersion();
            }
        }
        return -1;
    }

    /**
     * Graph inputs that are not initializers.
     *
     * @return name, element type and dimensions of each
     */
    public List<TensorInfo> inputs() {
        List<String> initializers = initializerNames();
        List<TensorInfo> out = new ArrayList<>();
        for (ValueInfoProto v : graph().getInputList()) {
            if (!initializers.contains(v.getName())) {
                out.add(info(v));
            }
        }
        return out;
    }

    /** {@return the graph outputs: name, element type and dimensions of each} */
    public List<TensorInfo> outputs() {
        return graph().getOutputList().stream().map(OnnxModel::info).toList();
    }

    /**
     * The graph input of this name.
     *
     * @param name the input's name
     * @return it, or empty when the graph has none
     */
    public Optional<TensorInfo> input(String name) {
        return inputs().stream().filter(i -> i.name().equals(name)).findFirst();
    }

    /**
     * The graph output of this name.
     *
     * @param name the output's name
     * @return it, or empty when the graph has none
     */
    public Optional<TensorInfo> output(String name) {
        return outputs().stream().filter(i -> i.name().equals(name)).findFirst();
    }

    /** {@return the names of the initializers (weights and constants), in graph order} */
    public List<String> initializerNames() {
        return graph().getInitializerList().stream().map(TensorProto::getName).toList();
    }

    /**
     * A float initializer's values.
     *
     * @param name the initializer's name
     * @return its dimensions and values
     * @throws IOException when there is none of that name or it is not float
     */
    public FloatTensor initializer(String name) throws IOException {
        for (TensorProto t : graph().getInitializerList()) {
            if (t.getName().equals(name)) {
                return floatTensor(t);
            }
        }
        throw new IOException(source + " has no initializer named " + name);
    }

    /**
     * The directory external data locations resolve against, for ONNX Runtime's
     * {@code session.model_external_initializers_file_folder_path} when a session is made from {@link #toBytes()}.
     *
     * @return the model file's directory, or empty for a model built in memory
     */
    public Optional<Path> externalDataFolder() {
        return Optional.ofNullable(folder);
    }

    /**
     * The data files this model's initializers refer to.
     *
     * @return their file names, in the model's directory, in first-use order
     * @throws IOException when a reference is malformed
     */
    public List<String> externalDataFiles() throws IOException {
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
        for (TensorProto t : graph().getInitializerList()) {
            if (ExternalData.isExternal(t) && !ExternalData.isHeld(t)) {
                out.add(ref(t).file().getFileName().toString());
            }
        }
        return List.copyOf(out);
    }

    /** Where an external initializer's bytes are (checked). */
    ExternalData.Ref ref(TensorProto t) throws IOException {
        if (folder == null) {
            throw new IOException(source + ": initializer " + t.getName() + " is external, but the model was not "
                    + "read from a file");
        }
        return ExternalData.ref(t, folder, source);
    }

    /** The values of an initializer this model holds in memory. */
    float[] held(String name) throws IOException {
        float[] values = held.get(name);
        if (values == null) {
            throw new IOException(source + ": initializer " + name + " is marked as held in memory but is not");
        }
        return values;
    }

    /**
     * An initializer's raw little-endian bytes wherever they are (inline, external file, held in memory), or an
     * empty buffer when it stores its values in the typed fields instead.
     */
    ByteBuffer rawData(TensorProto t) throws IOException {
        String what = source + ": initializer " + t.getName();
        if (ExternalData.isHeld(t)) {
            float[] values = held(t.getName());
            if (4L * values.length > Integer.MAX_VALUE - 8) {
                throw new IOException(what + " is " + 4L * values.length + " bytes, more than one Java array holds");
            }
            ByteBuffer out = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            out.asFloatBuffer().put(values);
            return out.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        if (ExternalData.isExternal(t)) {
            return ExternalData.read(ref(t), what).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Serialized bytes, for an ONNX Runtime session: the graph, with external initializers still referring to
     * their files (set {@link #externalDataFolder()} on the session) and held ones inlined.
     *
     * @return the bytes
     * @throws IllegalStateException when the held initializers would take the message past protobuf's 2 GB
     */
    public byte[] toBytes() {
        if (held.isEmpty()) {
            return proto.toByteArray();
        }
        long size = proto.getSerializedSize();
        for (float[] v : held.values()) {
            size += 4L * v.length;
        }
        if (size >= PROTOBUF_LIMIT) {
            throw new IllegalStateException(source + ": " + size + " bytes with its in-memory initializers inlined, "
                    + "over protobuf's 2 GB; write it with write(file, dataFileName)");
        }
        GraphProto.Builder g = proto.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (ExternalData.isHeld(t)) {
                g.setInitializer(i, floatInitializer(t.getName(), t.getDimsList().stream().mapToLong(Long::longValue)
                        .toArray(), held.get(t.getName())));
            }
        }
        return proto.toBuilder().setGraph(g).build().toByteArray();
    }

    /**
     * SHA-256 of the model's content, hex: the graph without its initializers, then each initializer's name,
     * type, dimensions and bytes, wherever they are stored. So it identifies the exact graph and weights, and a
     * model written with its weights inline or in a data file (at any offsets) has the same digest. External data
     * is streamed through the digest, never held.
     *
     * @return 64 hex digits
     * @throws UncheckedIOException when external data cannot be read
     */
    public String sha256() {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        md.update(proto.toBuilder().setGraph(proto.getGraph().toBuilder().clearInitializer()).build().toByteArray());
        byte[] buffer = new byte[ExternalData.CHUNK_BYTES];
        try (OutputStream sink = new java.security.DigestOutputStream(OutputStream.nullOutputStream(), md)) {
            for (TensorProto t : graph().getInitializerList()) {
                TensorProto.Builder meta = t.toBuilder().clearRawData().clearExternalData().clearDataLocation();
                md.update(meta.build().toByteArray());
                if (ExternalData.isHeld(t)) {
                    ExternalData.copy(held(t.getName()), sink, buffer);
                } else if (ExternalData.isExternal(t)) {
                    ExternalData.copy(ref(t), sink, buffer);
                } else {
                    t.getRawData().writeTo(sink);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": reading its weights for the digest failed: " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Writes the model as one file, atomically: to a temporary file beside {@code file}, then renamed over it.
     * External and held initializers are inlined, so the model must fit protobuf's 2 GB.
     *
     * @param file where to write
     * @throws IOException when writing fails, or the model is too large for one file
     */
    public void write(Path file) throws IOException {
        GraphProto.Builder g = proto.getGraph().toBuilder();
        long size = proto.getSerializedSize();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (ExternalData.isExternal(t)) {
                long bytes = ExternalData.isHeld(t) ? 4L * held(t.getName()).length : ref(t).length();
                size += bytes;
                if (size >= PROTOBUF_LIMIT) {
                    throw new IOException(source + ": more than 2 GB with its weights inlined; write it with an "
                            + "external data file (write(file, dataFileName))");
                }
                g.setInitializer(i, t.toBuilder().clearExternalData().clearDataLocation()
                        .setRawData(ByteString.copyFrom(rawData(t))).build());
            }
        }
        AtomicFiles.write(file, proto.toBuilder().setGraph(g).build().toByteArray());
    }

    /**
     * Writes the model with its large initializers in an external data file beside it, as exports over
     * protobuf's limit are laid out: streamed from wherever they are (this model's own data files included), a
     * megabyte at a time; each file is written atomically, the data first, so a crash leaves no model pointing at
     * a missing file.
     *
     * @param file where to write the graph
     * @param dataFileName the data file's name, in the same directory (conventionally the model's name plus
     *     {@code _data})
     * @throws IOException when writing fails
     */
    public void write(Path file, String dataFileName) throws IOException {
        ExternalData.write(this, file, dataFileName);
    }

    /**
     * A model with another protobuf, same source, data folder and held initializers (those the new graph still
     * has).
     *
     * @param changed the new protobuf
     * @return the model
     * @throws IOException when it has no graph nodes
     */
    public OnnxModel with(ModelProto changed) throws IOException {
        return checked(changed, source, folder, keptHeld(changed, held));
    }

    /**
     * This model with one axis of some graph inputs declared a fixed size, for a graph that is only ever fed that
     * size: a gradient graph over whole sequences takes empty past caches, and a past length known to be 0 lets
     * its builder prove the attention's shapes instead of working out reductions at run time. ONNX Runtime then
     * refuses any other size on that axis.
     *
     * <pre>{@code
     * OnnxModel noCache = trunk.withInputDimension(List.of("past_key_values.0.key", "past_key_values.0.value"), 2, 0);
     * }</pre>
     *
     * @param inputs the graph inputs
     * @param axis the axis, from 0
     * @param size the size they are always fed
     * @return the model
     * @throws IOException when the rebuilt model cannot be checked
     * @throws IllegalArgumentException when an input is missing or has no such axis
     */
    public OnnxModel withInputDimension(java.util.Collection<String> inputs, int axis, long size) throws IOException {
        GraphProto.Builder b = graph().toBuilder();
        java.util.Set<String> missing = new java.util.TreeSet<>(inputs);
        for (int i = 0; i < b.getInputCount(); i++) {
            if (!missing.remove(b.getInput(i).getName())) {
                continue;
            }
            ai.onnx.proto.OnnxMl.ValueInfoProto.Builder in = b.getInput(i).toBuilder();
            ai.onnx.proto.OnnxMl.TensorShapeProto.Builder shape = in.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            if (axis < 0 || axis >= shape.getDimCount()) {
                throw new IllegalArgumentException(source + ": input " + in.getName() + " has " + shape.getDimCount()
                        + " axes, there is no axis " + axis);
            }
            shape.setDim(axis, ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(size));
            b.setInput(i, in);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(source + ": no graph input named " + missing);
        }
        return with(proto().toBuilder().setGraph(b).build());
    }

    /**
     * This model with some float initializers given new values of the same dimensions (a LoRA merged into its
     * weights), held in memory and written out by {@link #write}.
     *
     * @param replaced each initializer's name and new values
     * @return the model
     * @throws IOException when a name is not a float initializer or the dimensions differ
     */
    public OnnxModel withInitializerValues(Map<String, FloatTensor> replaced) throws IOException {
        GraphProto.Builder b = graph().toBuilder();
        Map<String, float[]> values = new HashMap<>();
        for (int i = 0; i < b.getInitializerCount(); i++) {
            TensorProto t = b.getInitializer(i);
            FloatTensor v = replaced.get(t.getName());
            if (v == null) {
                continue;
            }
            long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
            if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE || !java.util.Arrays.equals(dims, v.dims())) {
                throw new IOException(source + ": initializer " + t.getName() + " is "
                        + TensorProto.DataType.forNumber(t.getDataType()) + " " + java.util.Arrays.toString(dims)
                        + ", the replacement FLOAT " + java.util.Arrays.toString(v.dims()));
            }
            b.setInitializer(i, heldInitializer(t.getName(), dims));
            values.put(t.getName(), v.valuesView());
        }
        if (values.size() != replaced.size()) {
            java.util.Set<String> missing = new java.util.TreeSet<>(replaced.keySet());
            missing.removeAll(values.keySet());
            throw new IOException(source + " has no initializers named " + missing);
        }
        return withHeld(proto().toBuilder().setGraph(b).build(), values);
    }

    /**
     * A model with another protobuf plus float initializers held in memory rather than in the protobuf, which
     * {@link #write(Path, String)} streams out: a trained head of any size (Qwen2.5-VL-7B's is 2.2 GB).
     *
     * @param changed the new protobuf, with each held initializer as {@link #heldInitializer}
     * @param values the held initializers' values by name
     * @return the model
     * @throws IOException when it has no graph nodes
     */
    OnnxModel withHeld(ModelProto changed, Map<String, float[]> values) throws IOException {
        Map<String, float[]> all = new HashMap<>(held);
        all.putAll(values);
        return checked(changed, source, folder, keptHeld(changed, all));
    }

    private static Map<String, float[]> keptHeld(ModelProto changed, Map<String, float[]> held) {
        if (held.isEmpty()) {
            return Map.of();
        }
        Map<String, float[]> kept = new HashMap<>();
        for (TensorProto t : changed.getGraph().getInitializerList()) {
            if (ExternalData.isHeld(t) && held.containsKey(t.getName())) {
                kept.put(t.getName(), held.get(t.getName()));
            }
        }
        return Map.copyOf(kept);
    }

    /** The placeholder of a float initializer whose values the model holds (see {@link #withHeld}). */
    static TensorProto heldInitializer(String name, long[] dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(ExternalData.entry("location", ExternalData.HELD));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    static TensorInfo info(ValueInfoProto v) {
        List<Long> dims = new ArrayList<>();
        List<String> names = new ArrayList<>();
        String type = "UNDEFINED";
        if (v.getType().hasTensorType()) {
            var tt = v.getType().getTensorType();
            type = TensorProto.DataType.forNumber(tt.getElemType()) == null ? "UNKNOWN"
                    : TensorProto.DataType.forNumber(tt.getElemType()).name();
            if (tt.hasShape()) {
                for (TensorShapeProto.Dimension d : tt.getShape().getDimList()) {
                    dims.add(d.hasDimValue() ? d.getDimValue() : -1L);
                    names.add(d.hasDimParam() ? d.getDimParam() : "");
                }
            }
        }
        return new TensorInfo(v.getName(), type, dims, names);
    }

    /** A float32 initializer's values, wherever they are stored. */
    FloatTensor floatTensor(TensorProto t) throws IOException {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new IOException(source + ": initializer " + t.getName() + " has element type "
                    + TensorProto.DataType.forNumber(t.getDataType()) + "; only FLOAT (float32) is supported here");
        }
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        float[] values;
        if (ExternalData.isHeld(t)) {
            values = held(t.getName()).clone();
        } else if (ExternalData.isExternal(t)) {
            // straight into floats: a float32 head may be over 2 GB of bytes (Qwen2.5-VL-7B's is)
            values = ExternalData.readFloats(ref(t), source + ": initializer " + t.getName());
        } else if (!t.getRawData().isEmpty()) {
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            values = new float[raw.remaining() / 4];
            raw.asFloatBuffer().get(values);
        } else {
            values = new float[t.getFloatDataCount()];
            for (int i = 0; i < values.length; i++) {
                values[i] = t.getFloatData(i);
            }
        }
        try {
            return FloatTensor.wrap(dims, values);
        } catch (IllegalArgumentException e) {
            throw new IOException(source + ": initializer " + t.getName() + ": " + e.getMessage(), e);
        }
    }

    /** A float initializer with raw little-endian data. */
    static TensorProto floatInitializer(String name, long[] dims, float[] values) {
        ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    @Override
    public String toString() {
        return "OnnxModel[" + source + ", opset " + opsetVersion() + ", " + graph().getNodeCount() + " nodes]";
    }
}
