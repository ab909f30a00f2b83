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
    /** Ops whose output has exactly their first input's dimensions. */
    private static final Set<String> SAME_DIMS = Set.of("Identity", "Neg", "Sqrt", "Reciprocal", "Exp", "Log", "Relu",
            "Sigmoid", "Tanh", "Erf", "Sin", "Cos", "Softmax", "LogSoftmax", "Cast", "CastLike", "Abs", "Not", "Sign",
            "Floor", "Ceil", "Round", "Clip");
    /** Ops whose output has their first input's rank. */
    private static final Set<String> SAME_SHAPE = union(SAME_DIMS,
            Set.of("Slice", "Concat", "Transpose", "IsNaN", "IsInf", "Tile", "LeakyRelu"));
    private static final Set<String> BOOLEAN = Set.of("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And",
            "Or", "Xor", "Not", "IsNaN", "IsInf");

    private final Map<String, Integer> types = new HashMap<>();
    private final Map<String, Integer> ranks = new HashMap<>();
    private final Map<String, long[]> constants = new HashMap<>();
    /** Per value, its dimensions as far as known: a number, an input's symbolic name, or a fresh "?n" (unknown). */
    private final Map<String, List<String>> dims = new HashMap<>();
    private int fresh;

    private ValueFacts() {
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        java.util.Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    static ValueFacts infer(GraphProto graph) {
        ValueFacts f = new ValueFacts();
        for (TensorProto t : graph.getInitializerList()) {
            f.types.put(t.getName(), t.getDataType());
            f.ranks.put(t.getName(), t.getDimsCount());
            f.dims.put(t.getName(), t.getDimsList().stream().map(String::valueOf).toList());
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
                    List<String> named = new java.util.ArrayList<>();
                    for (TensorShapeProto.Dimension dim : dims) {
                        named.add(dim.hasDimValue() ? String.valueOf(dim.getDimValue())
                                : dim.hasDimParam() && !dim.getDimParam().isEmpty() ? dim.getDimParam() : f.fresh());
                    }
                    f.dims.put(in.getName(), named);
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

    /** {@return the value's dimensions (numbers, symbols, or fresh unknowns), if its rank is known} */
    Optional<List<String>> dims(String value) {
        return Optional.ofNullable(dims.get(value));
    }

    private String fresh() {
        return "?" + fresh++;
    }

    /** Numpy-style broadcast of known dimensions: a 1 yields to the other size, an unknown to a known one. */
    private List<String> broadcast(List<List<String>> shapes) {
        int rank = shapes.stream().mapToInt(List::size).max().orElse(0);
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < rank; i++) {
            String d = null;
            for (List<String> s : shapes) {
                int j = i - (rank - s.size());
                if (j < 0) {
                    continue;
                }
                String e = s.get(j);
                // in a valid graph every non-1 size along an axis is the same size, so a known one names them all;
                // only "1 or unknown" stays unknown
                if (d == null || d.equals("1") || (d.startsWith("?") && !e.equals("1"))) {
                    d = e;
                }
            }
            out.add(d);
        }
        return out;
    }

    private List<String> outputDims(NodeProto node) {
        String op = node.getOpType();
        List<String> in = node.getInputList();
        List<List<String>> known = new java.util.ArrayList<>();
        for (String v : in) {
            known.add(v.isEmpty() ? null : dims.get(v));
        }
        List<String> x = known.isEmpty() ? null : known.get(0);
        if (ELEMENTWISE.contains(op)) {
            return known.contains(null) ? null : broadcast(known);
        }
        if (x == null) {
            return null;
        }
        if (SAME_DIMS.contains(op)) {
            return x;
        }
        switch (op) {
            case "Transpose" -> {
                long[] perm = intsAttribute(node, "perm").orElse(null);
                List<String> out = new java.util.ArrayList<>();
                for (int i = 0; i < x.size(); i++) {
                    out.add(x.get(perm == null ? x.size() - 1 - i : (int) perm[i]));
                }
                return out;
            }
            case "MatMul" -> {
                List<String> b = known.get(1);
                if (b == null || x.size() < 2 || b.size() < 2) {
                    return null;
                }
                List<String> out = new java.util.ArrayList<>(broadcast(List.of(x.subList(0, x.size() - 2),
                        b.subList(0, b.size() - 2))));
                out.add(x.get(x.size() - 2));
                out.add(b.get(b.size() - 1));
                return out;
            }
            case "Reshape" -> {
                long[] shape = constant(in.get(1)).orElse(null);
                if (shape == null) {
                    return null;
                }
                List<String> out = new java.util.ArrayList<>();
                int inferred = -1;
                for (int i = 0; i < shape.length; i++) {
                    if (shape[i] == -1) {
                        inferred = i;
                    }
                    out.add(shape[i] > 0 ? String.valueOf(shape[i]) : shape[i] == 0 && i < x.size() ? x.get(i) : fresh());
                }
                if (inferred >= 0) {
                    out.set(inferred, inferredDim(x, shape));
                }
                return out;
            }
            case "Expand" -> {
                long[] shape = constant(in.get(1)).orElse(null);
                return shape == null ? null
                        : broadcast(List.of(x, java.util.Arrays.stream(shape).mapToObj(String::valueOf).toList()));
            }
            case "Unsqueeze" -> {
                long[] axes = (in.size() > 1 ? constant(in.get(1)) : intsAttribute(node, "axes")).orElse(null);
                if (axes == null) {
                    return null;
                }
                int rank = x.size() + axes.length;
                java.util.Set<Long> at = new java.util.HashSet<>();
                for (long a : axes) {
                    at.add(a < 0 ? a + rank : a);
                }
                List<String> out = new java.util.ArrayList<>();
                java.util.Iterator<String> rest = x.iterator();
                for (long i = 0; i < rank; i++) {
                    out.add(at.contains(i) ? "1" : rest.next());
                }
                return out;
            }
            case "ReduceMean", "ReduceSum" -> {
                Optional<long[]> axes = in.size() > 1 && !in.get(1).isEmpty() ? constant(in.get(1)) : intsAttribute(node, "axes");
                if (axes.isEmpty() || intAttribute(node, "keepdims", 1) != 1) {
                    return null;
                }
                List<String> out = new java.util.ArrayList<>(x);
                for (long a : axes.get()) {
                    out.set((int) (a < 0 ? a + x.size() : a), "1");
                }
                return out;
            }
            case "Concat" -> {
                long axis = intAttribute(node, "axis", 0);
                int a = (int) (axis < 0 ? axis + x.size() : axis);
                long total = 0;
                // an empty part (an empty past cache) adds nothing: the other part's size, symbol or not, is the sum
                List<List<String>> nonEmpty = new java.util.ArrayList<>();
                for (List<String> part : known) {
                    if (part == null || part.size() != x.size()) {
                        return null;
                    }
                    if (!part.get(a).equals("0")) {
                        nonEmpty.add(part);
                    }
                    total = total < 0 || !part.get(a).matches("\\d+") ? -1 : total + Long.parseLong(part.get(a));
                }
                List<String> out = new java.util.ArrayList<>(nonEmpty.size() == 1 ? nonEmpty.get(0) : x);
                out.set(a, total >= 0 ? String.valueOf(total) : nonEmpty.size() == 1 ? nonEmpty.get(0).get(a) : fresh());
                return out;
            }
            case "Slice" -> {
                long[] starts = constant(in.get(1)).orElse(null);
                long[] ends = constant(in.get(2)).orElse(null);
                long[] axes = in.size() > 3 && !in.get(3).isEmpty() ? constant(in.get(3)).orElse(null)
                        : starts == null ? null : java.util.stream.LongStream.range(0, starts.length).toArray();
                boolean unitSteps = in.size() <= 4 || in.get(4).isEmpty()
                        || constant(in.get(4)).map(st -> java.util.Arrays.stream(st).allMatch(v -> v == 1)).orElse(false);
                if (starts == null || ends == null || axes == null || !unitSteps) {
                    return null;
                }
                List<String> out = new java.util.ArrayList<>(x);
                for (int k = 0; k < axes.length; k++) {
                    int a = (int) (axes[k] < 0 ? axes[k] + x.size() : axes[k]);
                    String d = x.get(a);
                    if (!d.matches("\\d+")) {
                        out.set(a, fresh());
                        continue;
                    }
                    long n = Long.parseLong(d);
                    long b = Math.max(0, Math.min(n, starts[k] < 0 ? starts[k] + n : starts[k]));
                    long e = Math.max(0, Math.min(n, ends[k] < 0 ? ends[k] + n : ends[k]));
                    out.set(a, String.valueOf(Math.max(0, e - b)));
                }
                return out;
            }
            default -> {
                return null;
            }
        }
    }

    /**
     * A Reshape's -1: the input's dimensions not copied by a 0, less the output's fixed sizes. Known when what
     * remains is a number, or a single symbol whose numeric cofactor the fixed sizes exactly account for (a GQA
     * reshape of [B, kv, groups, S, hd] to [B, heads, -1, hd] gives S).
     */
    private String inferredDim(List<String> x, long[] shape) {
        long remaining = 1;
        List<String> symbols = new java.util.ArrayList<>();
        for (int i = 0; i < x.size(); i++) {
            if (i < shape.length && shape[i] == 0) {
                continue;
            }
            String d = x.get(i);
            if (d.matches("\\d+")) {
                remaining *= Long.parseLong(d);
            } else {
                symbols.add(d);
            }
        }
        long fixed = 1;
        for (long s : shape) {
            if (s > 0) {
                fixed *= s;
            }
        }
        if (symbols.isEmpty() && fixed > 0 && remaining % fixed == 0) {
            return String.valueOf(remaining / fixed);
        }
        if (symbols.size() == 1 && remaining == fixed) {
            return symbols.get(0);
        }
        return fresh();
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
        List<String> outDims = outputDims(node);
        if (outDims != null && outDims.contains(null)) {
            outDims = null;
        }
        if (outDims != null && (rank == UNKNOWN || rank == outDims.size())) {
            dims.put(node.getOutput(0), outDims);
            rank = outDims.size();
        } else if (rank != UNKNOWN) {
            // sizes unknown but rank known: fresh unknowns, which equal nothing, but which a known size along the
            // same axis of a broadcast names (a GQA Expand would otherwise hide every later layer's shapes)
            List<String> unknown = new java.util.ArrayList<>();
            for (int i = 0; i < rank; i++) {
                unknown.add(fresh());
            }
            dims.put(node.getOutput(0), unknown);
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
