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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * An ONNX model file in memory: read, inspect (inputs, outputs, initializers, opset), modify through its
 * protobuf, write. The protobuf classes come from {@code tribuo-util-onnx}; nothing of {@code onnx.proto} is
 * copied here.
 *
 * <p>Weights kept in external data files ({@code .onnx_data} beside the model) are read in whole when the model
 * is read (so the model must stay under protobuf's 2 GB); {@link #write(Path, String)} writes them back out.
 * Unsupported files fail with a message naming the file and the reason: not a model, no graph, or external
 * data that is missing or points outside its file.
 *
 * <pre>{@code
 * OnnxModel decoder = OnnxModel.read(dir.resolve("decoder.onnx"));
 * decoder.inputs().forEach(i -> System.out.println(i.name() + " " + i.shapeText()));
 * }</pre>
 */
public final class OnnxModel {

    private final ModelProto proto;
    private final String source;

    private OnnxModel(ModelProto proto, String source) {
        this.proto = proto;
        this.source = source;
    }

    /**
     * Reads a model file.
     *
     * @param file an .onnx file
     * @return the model
     * @throws IOException when the file is missing or not an ONNX model
     */
    public static OnnxModel read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("ONNX model file not found: " + file.toAbsolutePath());
        }
        String source = file.toAbsolutePath().toString();
        return of(ExternalData.inline(parseProto(Files.readAllBytes(file), source), file), source);
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
     * @throws IOException when it has no graph nodes
     */
    public static OnnxModel of(ModelProto proto, String source) throws IOException {
        if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new IOException(source + " is not a usable ONNX model: it has no graph nodes");
        }
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                throw new IOException(source + ": initializer " + t.getName() + " keeps its data in an external file; "
                        + "read the model from its file (OnnxModel.read), which loads external data");
            }
        }
        return new OnnxModel(proto, source);
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
                return toFloatTensor(t, source);
            }
        }
        throw new IOException(source + " has no initializer named " + name);
    }

    /**
     * Serialized bytes, for an ONNX Runtime session.
     *
     * @return the bytes
     */
    public byte[] toBytes() {
        return proto.toByteArray();
    }

    /**
     * SHA-256 of the serialized model, hex: identifies the exact graph and weights.
     *
     * @return 64 hex digits
     */
    public String sha256() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(toBytes()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Writes the model atomically: to a temporary file beside {@code file}, then renamed over it.
     *
     * @param file where to write
     * @throws IOException when writing fails
     */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, toBytes());
    }

    /**
     * Writes the model with its large initializers in an external data file beside it, as exports over
     * protobuf's limit are laid out; each file is written atomically, the data first, so a crash leaves no
     * model pointing at a missing file.
     *
     * @param file where to write the graph
     * @param dataFileName the data file's name, in the same directory (conventionally the model's name plus
     *     {@code _data})
     * @throws IOException when writing fails
     */
    public void write(Path file, String dataFileName) throws IOException {
        ExternalData.Split split = ExternalData.split(proto, dataFileName);
        AtomicFiles.write(file.resolveSibling(dataFileName), split.data());
        AtomicFiles.write(file, split.model().toByteArray());
    }

    /**
     * A model with another protobuf, same source.
     *
     * @param changed the new protobuf
     * @return the model
     * @throws IOException when it has no graph nodes
     */
    public OnnxModel with(ModelProto changed) throws IOException {
        return of(changed, source);
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

    static FloatTensor toFloatTensor(TensorProto t, String source) throws IOException {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new IOException(source + ": initializer " + t.getName() + " has element type "
                    + TensorProto.DataType.forNumber(t.getDataType()) + "; only FLOAT (float32) is supported here");
        }
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        float[] values;
        if (!t.getRawData().isEmpty()) {
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
            return FloatTensor.of(dims, values);
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
