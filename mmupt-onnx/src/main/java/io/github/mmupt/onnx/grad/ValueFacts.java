package io.github.mmupt.onnx.grad;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the gradient rules need to know of each value without running the graph: its element type, its rank
 * and, for small int64 vectors fixed by initializers, their contents (axes, shapes). ONNX Runtime Java has no
 * shape inference, and the rules need ranks only (a MatMul's transpose of the last two axes, a Slice's axis), so
 * this propagates ranks through the ops the supported decoders use and leaves the rest unknown (-1); a rule
 * that needs an unknown rank refuses with the node's name.
 */
final class ValueFacts {

    static final int UNKNOWN = -1;

    private static final Set<String> ELEMENTWISE = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Where", "Sum", "Max", "Min",
            "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Mod", "PRelu");
    private static final Set<String> SAME_SHAPE = Set.of("Identity", "Neg", "Sqrt", "Reciprocal", "Exp", "Log", "Relu",
            "Sigmoid", "Tanh", "Erf", "Sin", "Cos", "Softmax", "LogSoftmax", "Cast", "CastLike", "Abs", "Not", "Sign",
            "Slice", "Concat", "Transpose", "Floor", "Ceil", "Round", "IsNaN", "IsInf", "Tile", "Clip", "LeakyRelu");
    private static final Set<String> BOOLEAN = Set.of("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And",
            "Or", "Xor", "Not", "IsNaN", "IsInf");

    private final Map<String, Integer> types = new HashMap<>();
    private final Map<String, Integer> ranks = new HashMap<>();
    private final Map<String, long[]> constants = new HashMap<>();
    private final Map<String, long[]> staticDims = new HashMap<>();

    private ValueFacts() {
    }

    static ValueFacts infer(GraphProto graph) {
        ValueFacts f = new ValueFacts();
        for (TensorProto t : graph.getInitializerList()) {
            f.types.put(t.getName(), t.getDataType());
            f.ranks.put(t.getName(), t.getDimsCount());
            long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
            f.staticDims.put(t.getName(), dims);
            if (t.getDataType() == TensorProto.DataType.INT64_VALUE && t.getDimsCount() <= 1 && t.getRawData().isEmpty()) {
                f.constants.put(t.getName(), t.getInt64DataList().stream().mapToLong(Long::longValue).toArray());
            } else if (t.getDataType() == TensorProto.DataType.INT64_VALUE && t.getDimsCount() <= 1) {
                java.nio.LongBuffer b = t.getRawData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .asLongBuffer();
                long[] v = new long[b.remaining()];
                b.get(v);
                f.constants.put(t.getName(), v);
            }
        }
        for (ValueInfoProto in : graph.getInputList()) {
            if (in.getType().hasTensorType()) {
                f.types.put(in.getName(), in.getType().getTensorType().getElemType());
                if (in.getType().getTensorType().hasShape()) {
                    List<TensorShapeProto.Dimension> dims = in.getType().getTensorType().getShape().getDimList();
                    f.ranks.put(in.getName(), dims.size());
                    if (dims.stream().allMatch(TensorShapeProto.Dimension::hasDimValue)) {
                        f.staticDims.put(in.getName(), dims.stream().mapToLong(TensorShapeProto.Dimension::getDimValue).toArray());
                    }
                }
            }
        }
        for (NodeProto node : graph.getNodeList()) {
            f.propagate(node);
        }
        return f;
    }

    int type(String value) {
        return types.getOrDefault(value, TensorProto.DataType.UNDEFINED_VALUE);
    }

    int rank(String value) {
        return ranks.getOrDefault(value, UNKNOWN);
    }

    Optional<long[]> constant(String value) {
        return Optional.ofNullable(constants.get(value));
    }

    Optional<long[]> staticDims(String value) {
        return Optional.ofNullable(staticDims.get(value));
    }

    static boolean isFloating(int type) {
        return type == TensorProto.DataType.FLOAT_VALUE || type == TensorProto.DataType.DOUBLE_VALUE
                || type == TensorProto.DataType.FLOAT16_VALUE || type == TensorProto.DataType.BFLOAT16_VALUE;
    }

    static Optional<AttributeProto> attribute(NodeProto node, String name) {
        return node.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst();
    }

    static long intAttribute(NodeProto node, String name, long fallback) {
        return attribute(node, name).map(AttributeProto::getI).orElse(fallback);
    }

    static Optional<long[]> intsAttribute(NodeProto node, String name) {
        return attribute(node, name).map(a -> a.getIntsList().stream().mapToLong(Long::longValue).toArray());
    }

    private void propagate(NodeProto node) {
        String op = node.getOpType();
        List<String> in = node.getInputList();
        int inRank = in.isEmpty() ? UNKNOWN : rank(in.get(0));
        int rank = UNKNOWN;
        int type = in.isEmpty() ? TensorProto.DataType.UNDEFINED_VALUE : type(in.get(0));
        if (ELEMENTWISE.contains(op)) {
            rank = in.stream().mapToInt(this::rank).reduce(0, (a, b) -> a == UNKNOWN || b == UNKNOWN ? UNKNOWN : Math.max(a, b));
            if (op.equals("Where")) {
                type = type(in.get(1));
            }
        } else if (SAME_SHAPE.contains(op)) {
            rank = inRank;
        } else if (op.equals("MatMul")) {
            int a = rank(in.get(0));
            int b = rank(in.get(1));
            rank = a == UNKNOWN || b == UNKNOWN ? UNKNOWN : Math.max(a, b);
        } else if (op.equals("Gemm")) {
            rank = 2;
        } else if (op.equals("Shape")) {
            rank = 1;
            type = TensorProto.DataType.INT64_VALUE;
        } else if (op.equals("Size")) {
            rank = 0;
            type = TensorProto.DataType.INT64_VALUE;
        } else if (op.equals("Range")) {
            rank = 1;
        } else if (op.equals("Reshape") || op.equals("Expand") || op.equals("ConstantOfShape")) {
            String shape = in.get(op.equals("ConstantOfShape") ? 0 : 1);
            int length = constant(shape).map(c -> c.length).orElse(vectorLength(shape));
            rank = op.equals("Expand") && length != UNKNOWN && inRank != UNKNOWN ? Math.max(length, inRank) : length;
            if (op.equals("ConstantOfShape")) {
                type = attribute(node, "value").map(a -> a.getT().getDataType()).orElse(TensorProto.DataType.FLOAT_VALUE);
            }
        } else if (op.equals("Unsqueeze") || op.equals("Squeeze")) {
            Optional<long[]> axes = in.size() > 1 ? constant(in.get(1)) : intsAttribute(node, "axes");
            if (axes.isPresent() && inRank != UNKNOWN) {
                rank = op.equals("Unsqueeze") ? inRank + axes.get().length : inRank - axes.get().length;
            }
        } else if (op.startsWith("Reduce")) {
            Optional<long[]> axes = in.size() > 1 && !in.get(1).isEmpty() ? constant(in.get(1)) : intsAttribute(node, "axes");
            boolean keep = intAttribute(node, "keepdims", 1) == 1;
            if (inRank != UNKNOWN) {
                rank = keep ? inRank : axes.map(a -> inRank - a.length).orElse(0);
            }
        } else if (op.equals("Gather")) {
            int r = rank(in.get(1));
            rank = inRank == UNKNOWN || r == UNKNOWN ? UNKNOWN : inRank - 1 + r;
        } else if (op.equals("Flatten")) {
            rank = 2;
        }
        if (op.equals("Cast")) {
            type = (int) intAttribute(node, "to", TensorProto.DataType.UNDEFINED_VALUE);
        } else if (op.equals("CastLike")) {
            type = type(in.get(1));
        } else if (BOOLEAN.contains(op)) {
            type = TensorProto.DataType.BOOL_VALUE;
        }
        for (int i = 0; i < node.getOutputCount(); i++) {
            String out = node.getOutput(i);
            types.put(out, op.equals("Split") || i == 0 ? type : TensorProto.DataType.UNDEFINED_VALUE);
            ranks.put(out, op.equals("Split") ? inRank : i == 0 ? rank : UNKNOWN);
        }
        if (op.equals("Shape") && inRank != UNKNOWN) {
            vectorLengths.put(node.getOutput(0), (long) inRank);
        } else if (op.equals("Concat") && inRank == 1) {
            long total = 0;
            for (String v : in) {
                int len = constant(v).map(c -> c.length).orElse(vectorLength(v));
                if (len == UNKNOWN) {
                    total = UNKNOWN;
                    break;
                }
                total += len;
            }
            if (total != UNKNOWN) {
                vectorLengths.put(node.getOutput(0), total);
            }
        } else if ((op.equals("Cast") || op.equals("Identity")) && vectorLengths.containsKey(in.get(0))) {
            vectorLengths.put(node.getOutput(0), vectorLengths.get(in.get(0)));
        }
    }

    private final Map<String, Long> vectorLengths = new HashMap<>();

    private int vectorLength(String value) {
        Long n = vectorLengths.get(value);
        return n == null ? UNKNOWN : n.intValue();
    }
}
