package io.github.mmupt.onnx.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small builder of ONNX graphs over the protobuf classes: inputs, outputs, initializers and nodes with
 * generated unique value names. Enough for the tiny test models; not a general graph library.
 *
 * <pre>{@code
 * GraphBuilder g = new GraphBuilder("mlp");
 * String x = g.input("x", TensorProto.DataType.FLOAT, "batch", 4L);
 * String y = g.node("MatMul", x, g.initializer("w", new long[] {4, 2}, weights));
 * g.output(g.identity(y, "y"), TensorProto.DataType.FLOAT, "batch", 2L);
 * ModelProto model = g.build(17);
 * }</pre>
 */
public final class GraphBuilder {

    /** The opset every model here targets (ReduceMean takes its axes as an attribute up to 17). */
    public static final int OPSET = 17;

    private final GraphProto.Builder graph;
    private final String prefix;
    private final Map<String, Integer> counters = new LinkedHashMap<>();

    /**
     * A builder of a graph named {@code name}.
     *
     * @param name the graph's name
     */
    public GraphBuilder(String name) {
        this(GraphProto.newBuilder().setName(name), "");
    }

    private GraphBuilder(GraphProto.Builder graph, String prefix) {
        this.graph = graph;
        this.prefix = prefix;
    }

    /**
     * A builder that appends to a copy of an existing graph; every value it names starts with {@code prefix},
     * so that its names cannot collide with the graph's own (which this class may have generated too).
     *
     * @param existing the graph to extend
     * @param prefix the prefix of every generated name, e.g. {@code "grad/"}
     * @return the builder
     */
    public static GraphBuilder extending(GraphProto existing, String prefix) {
        if (prefix.isEmpty()) {
            throw new IllegalArgumentException("extending a graph needs a non-empty name prefix");
        }
        return new GraphBuilder(existing.toBuilder(), prefix);
    }

    /** {@return the graph as built so far} */
    public GraphProto graph() {
        return graph.build();
    }

    /**
     * A node with {@code outputs} outputs; returns their names.
     *
     * @param op the operator type
     * @param inputs the input value names ("" for an omitted optional input)
     * @param outputs how many outputs
     * @param attributes the attributes by name
     * @return the outputs' names
     */
    public List<String> nodeWithOutputs(String op, List<String> inputs, int outputs, Map<String, Object> attributes) {
        String first = unique(op);
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(first + "_node").addAllInput(inputs);
        java.util.List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            String out = i == 0 ? first : first + "_" + i;
            n.addOutput(out);
            names.add(out);
        }
        new java.util.TreeMap<>(attributes).forEach((k, v) -> n.addAttribute(attribute(k, v)));
        graph.addNode(n);
        return List.copyOf(names);
    }

    /**
     * A scalar constant of any floating element type (FLOAT, DOUBLE or FLOAT16), named uniquely.
     *
     * @param value its value
     * @param elemType the ONNX element type number
     * @return its name
     */
    public String typedScalar(double value, int elemType) {
        String name = unique("const");
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(elemType);
        switch (elemType) {
            case TensorProto.DataType.FLOAT_VALUE -> t.addFloatData((float) value);
            case TensorProto.DataType.DOUBLE_VALUE -> t.addDoubleData(value);
            case TensorProto.DataType.FLOAT16_VALUE -> t.addInt32Data(Float16.fromFloat((float) value) & 0xffff);
            default -> throw new IllegalArgumentException("no floating scalar of ONNX element type " + elemType);
        }
        graph.addInitializer(t);
        return name;
    }

    /**
     * A scalar int64 constant, named uniquely.
     *
     * @param value its value
     * @return its name
     */
    public String int64Value(long value) {
        return int64Scalar(unique("int"), value);
    }

    /**
     * An int64 vector constant, named uniquely.
     *
     * @param values its values
     * @return its name
     */
    public String int64Vector(long... values) {
        return int64Initializer(unique("ints"), values);
    }

    /**
     * Declares a graph input; each dimension is a Long size or a String symbolic name.
     *
     * @param name the input's name
     * @param type its element type
     * @param dims its dimensions
     * @return the name
     */
    public String input(String name, TensorProto.DataType type, Object... dims) {
        graph.addInput(valueInfo(name, type, dims));
        return name;
    }

    /**
     * Declares a graph output; each dimension is a Long size or a String symbolic name.
     *
     * @param name a value some node produces
     * @param type its element type
     * @param dims its dimensions
     */
    public void output(String name, TensorProto.DataType type, Object... dims) {
        graph.addOutput(valueInfo(name, type, dims));
    }

    /**
     * A float initializer (a weight).
     *
     * @param name its name
     * @param dims its dimensions
     * @param values its values, row-major
     * @return the name
     */
    public String initializer(String name, long[] dims, float[] values) {
        graph.addInitializer(OnnxModel.floatInitializer(name, dims, values));
        return name;
    }

    /**
     * An int64 vector initializer (shapes, axes).
     *
     * @param name its name
     * @param values its values
     * @return the name
     */
    public String int64Initializer(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        graph.addInitializer(t);
        return name;
    }

    /**
     * A scalar int64 constant.
     *
     * @param name its name
     * @param value its value
     * @return the name
     */
    public String int64Scalar(String name, long value) {
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addInt64Data(value));
        return name;
    }

    /**
     * A scalar float constant.
     *
     * @param name its name
     * @param value its value
     * @return the name
     */
    public String floatScalar(String name, float value) {
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addFloatData(value));
        return name;
    }

    /**
     * A node with one output and no attributes; returns the output's name.
     *
     * @param op the operator type
     * @param inputs the input value names
     * @return the output's name
     */
    public String node(String op, String... inputs) {
        return node(op, List.of(inputs), Map.of());
    }

    /**
     * A node with one output; attribute values: Long, Float, long[], String.
     *
     * @param op the operator type
     * @param inputs the input value names
     * @param attributes the attributes by name
     * @return the output's name
     */
    public String node(String op, List<String> inputs, Map<String, Object> attributes) {
        String out = unique(op);
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(out + "_node").addAllInput(inputs)
                .addOutput(out);
        // sorted: Map.of iterates in an order salted per JVM, and the same model must give the same bytes (its digest
        // is the model's identity in checkpoints)
        new java.util.TreeMap<>(attributes).forEach((k, v) -> n.addAttribute(attribute(k, v)));
        graph.addNode(n);
        return out;
    }

    /**
     * Appends an existing node unchanged (when rewriting a graph node by node).
     *
     * @param node the node
     */
    public void appendNode(NodeProto node) {
        graph.addNode(node);
    }

    /**
     * A node with one output of a given name (the name a rewritten node's consumers already use).
     *
     * @param op the operator type
     * @param inputs the input value names
     * @param output the output's name
     */
    public void nodeInto(String op, List<String> inputs, String output) {
        graph.addNode(NodeProto.newBuilder().setOpType(op).setName(unique(op) + "_node").addAllInput(inputs).addOutput(output));
    }

    /**
     * Copies {@code from} to a value named {@code to} (for graph outputs with fixed names).
     *
     * @param from the value to copy
     * @param to the new value's name
     * @return {@code to}
     */
    public String identity(String from, String to) {
        graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName(to + "_identity").addInput(from).addOutput(to));
        return to;
    }

    /** {@return the model: the graph, the opset and the IR version} */
    public ModelProto build() {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("mmupt-java")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET)).setGraph(graph).build();
    }

    private String unique(String op) {
        int n = counters.merge(op, 1, Integer::sum);
        return prefix + op.toLowerCase(java.util.Locale.ROOT) + "_" + n;
    }

    static ValueInfoProto valueInfo(String name, TensorProto.DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Long size) {
                dim.setDimValue(size);
            } else if (d instanceof Integer size) {
                dim.setDimValue(size);
            } else {
                dim.setDimParam(String.valueOf(d));
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }

    private static AttributeProto attribute(String name, Object value) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        if (value instanceof Long l) {
            a.setType(AttributeProto.AttributeType.INT).setI(l);
        } else if (value instanceof Integer i) {
            a.setType(AttributeProto.AttributeType.INT).setI(i);
        } else if (value instanceof Float f) {
            a.setType(AttributeProto.AttributeType.FLOAT).setF(f);
        } else if (value instanceof long[] ints) {
            a.setType(AttributeProto.AttributeType.INTS);
            for (long v : ints) {
                a.addInts(v);
            }
        } else if (value instanceof String s) {
            a.setType(AttributeProto.AttributeType.STRING).setS(com.google.protobuf.ByteString.copyFromUtf8(s));
        } else if (value instanceof TensorProto t) {
            a.setType(AttributeProto.AttributeType.TENSOR).setT(t);
        } else {
            throw new IllegalArgumentException("unsupported attribute value for " + name + ": " + value);
        }
        return a.build();
    }
}
