package io.github.mmupt.onnx.grad;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.github.mmupt.onnx.model.GraphBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reverse-mode rules, one per ONNX op: given a forward node and the gradient of its outputs, the ONNX nodes that
 * compute the gradient of each input that needs one. Every rule emits standard ops only (opset 13 to 17 forms),
 * so any ONNX Runtime runs the result. Broadcast inputs get their gradient summed back to their own shape.
 */
final class GradientRules {

    /** Ops whose outputs carry no gradient (shapes, indices, comparisons, masks). */
    static final Set<String> NON_DIFFERENTIABLE = Set.of("Shape", "Size", "Range", "Equal", "Less", "LessOrEqual",
            "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not", "ArgMax", "ArgMin", "NonZero", "ConstantOfShape",
            "IsNaN", "IsInf", "Sign", "Floor", "Ceil", "Round", "TopK", "EyeLike", "RandomNormalLike", "RandomUniformLike",
            "Constant", "Mod");

    /** Ops with a rule below. */
    static final Set<String> SUPPORTED = Set.of("Identity", "Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Reciprocal", "Pow",
            "Exp", "Log", "Relu", "Sigmoid", "Tanh", "Erf", "Sin", "Cos", "MatMul", "Gemm", "Softmax", "ReduceMean",
            "ReduceSum", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Expand", "Concat", "Split", "Slice",
            "Gather", "Where", "Cast", "Sum");

    private final GraphBuilder g;
    private final ValueFacts facts;
    private final long opset;
    private final Map<String, String> shapes = new HashMap<>();

    /** Per value, what it transposes over its last two axes: forward Transposes and the ones the rules add. */
    private final Map<String, String> swappedFrom = new HashMap<>();
    private final Map<String, String> swapped = new HashMap<>();

    /** Per MatMul output, the scalar a single Mul scaled it by, applied to the MatMul's smaller gradients instead. */
    private final Map<String, String> deferredScale = new HashMap<>();
    private final Map<String, NodeProto> producers = new HashMap<>();
    private final Map<String, Integer> uses = new HashMap<>();

    GradientRules(GraphBuilder g, ValueFacts facts, long opset, ai.onnx.proto.OnnxMl.GraphProto forward) {
        this.g = g;
        this.facts = facts;
        this.opset = opset;
        forward.getOutputList().forEach(o -> uses.merge(o.getName(), 1, Integer::sum));
        for (NodeProto node : forward.getNodeList()) {
            node.getOutputList().forEach(o -> producers.put(o, node));
            node.getInputList().forEach(i -> uses.merge(i, 1, Integer::sum));
        }
        for (NodeProto node : forward.getNodeList()) {
            if (node.getOpType().equals("Transpose") && isSwapLast(ValueFacts.intsAttribute(node, "perm").orElse(null),
                    facts.rank(node.getInput(0)))) {
                swappedFrom.put(node.getOutput(0), node.getInput(0));
            }
        }
    }

    private static boolean isSwapLast(long[] perm, int rank) {
        return perm != null && rank >= 2 && perm.length == rank && Arrays.equals(perm, swapLastPerm(rank));
    }

    private static long[] swapLastPerm(int rank) {
        long[] perm = range(rank);
        perm[rank - 1] = rank - 2;
        perm[rank - 2] = rank - 1;
        return perm;
    }

    /** Zeros shaped like {@code value}: the gradient of an input no output depends on. */
    String zerosOf(String value) {
        return zeros(shapeOf(value), value);
    }

    /**
     * The gradient contributions of a node's inputs.
     *
     * @param node the forward node
     * @param outGrads the gradient of each output, null where none flows
     * @param needed which inputs need a gradient
     * @return per input, its contribution or null
     */
    String[] apply(NodeProto node, String[] outGrads, boolean[] needed) {
        List<String> in = node.getInputList();
        String[] d = new String[in.size()];
        String gy = outGrads[0];
        String y = node.getOutput(0);
        String op = node.getOpType();
        switch (op) {
            case "Identity" -> d[0] = gy;
            case "Add", "Sum" -> {
                for (int i = 0; i < in.size(); i++) {
                    d[i] = needed[i] ? unbroadcast(gy, in.get(i), y) : null;
                }
            }
            case "Sub" -> {
                d[0] = needed[0] ? unbroadcast(gy, in.get(0), y) : null;
                d[1] = needed[1] ? unbroadcast(n("Neg", gy), in.get(1), y) : null;
            }
            case "Mul" -> {
                if (needed[0] != needed[1] && deferScale(in.get(needed[0] ? 0 : 1), in.get(needed[0] ? 1 : 0))) {
                    d[needed[0] ? 0 : 1] = gy;
                } else {
                    d[0] = needed[0] ? unbroadcast(n("Mul", gy, in.get(1)), in.get(0), y) : null;
                    d[1] = needed[1] ? unbroadcast(n("Mul", gy, in.get(0)), in.get(1), y) : null;
                }
            }
            case "Div" -> {
                d[0] = needed[0] ? unbroadcast(n("Div", gy, in.get(1)), in.get(0), y) : null;
                // d(a/b)/db = -(a/b)/b
                d[1] = needed[1] ? unbroadcast(n("Neg", n("Div", n("Mul", gy, y), in.get(1))), in.get(1), y) : null;
            }
            case "Neg" -> d[0] = n("Neg", gy);
            case "Sqrt" -> d[0] = n("Div", gy, n("Add", y, y));
            case "Reciprocal" -> d[0] = n("Neg", n("Mul", gy, n("Mul", y, y)));
            case "Exp" -> d[0] = n("Mul", gy, y);
            case "Log" -> d[0] = n("Div", gy, in.get(0));
            case "Relu" -> d[0] = n("Mul", gy, n("Sign", y));
            case "Sigmoid" -> d[0] = n("Mul", gy, n("Sub", y, n("Mul", y, y)));
            case "Tanh" -> d[0] = n("Sub", gy, n("Mul", gy, n("Mul", y, y)));
            case "Sin" -> d[0] = n("Mul", gy, n("Cos", in.get(0)));
            case "Cos" -> d[0] = n("Neg", n("Mul", gy, n("Sin", in.get(0))));
            case "Erf" -> {
                String x = in.get(0);
                String bump = n("Exp", n("Neg", n("Mul", x, x)));
                d[0] = n("Mul", gy, n("Mul", bump, scalar(2 / Math.sqrt(Math.PI), x)));
            }
            case "Pow" -> {
                if (needed[1]) {
                    throw refuse(node, "a gradient for Pow's exponent (only the base is differentiated)");
                }
                String x = in.get(0);
                String p = in.get(1);
                String pMinus1 = n("Sub", p, scalar(1, p));
                String dx = n("Mul", n("Mul", gy, castLike(p, x)), n("Pow", x, pMinus1));
                d[0] = unbroadcast(dx, x, y);
            }
            case "MatMul" -> matMul(node, gy, needed, d);
            case "Gemm" -> gemm(node, gy, needed, d);
            case "Softmax" -> {
                long axis = ValueFacts.intAttribute(node, "axis", -1);
                String gyY = n("Mul", gy, y);
                String s = g.node("ReduceSum", List.of(gyY, g.int64Vector(axis)), Map.of("keepdims", 1L));
                d[0] = n("Sub", gyY, n("Mul", y, s));
            }
            case "ReduceMean", "ReduceSum" -> reduce(node, gy, d);
            case "Transpose" -> {
                Optional<long[]> perm = ValueFacts.intsAttribute(node, "perm");
                if (perm.isEmpty()) {
                    d[0] = g.node("Transpose", List.of(gy), Map.of());
                } else {
                    long[] inverse = new long[perm.get().length];
                    for (int i = 0; i < inverse.length; i++) {
                        inverse[(int) perm.get()[i]] = i;
                    }
                    // a swap of the last two axes undoes one the MatMul rule made: no transpose at all then
                    d[0] = isSwapLast(inverse, inverse.length) ? swapLast(gy, inverse.length)
                            : g.node("Transpose", List.of(gy), Map.of("perm", inverse));
                }
            }
            case "Reshape", "Flatten", "Squeeze", "Unsqueeze" -> d[0] = n("Reshape", gy, shapeOf(in.get(0)));
            case "Expand" -> d[0] = unbroadcast(gy, in.get(0), y);
            case "Concat" -> concat(node, gy, needed, d);
            case "Split" -> split(node, outGrads, d);
            case "Slice" -> d[0] = slice(node, gy);
            case "Gather" -> d[0] = gather(node, gy);
            case "Where" -> {
                String zero = scalar(0, y);
                d[1] = needed[1] ? unbroadcast(n("Where", in.get(0), gy, zero), in.get(1), y) : null;
                d[2] = needed[2] ? unbroadcast(n("Where", in.get(0), zero, gy), in.get(2), y) : null;
            }
            case "Cast" -> d[0] = g.node("Cast", List.of(gy), Map.of("to", (long) facts.type(in.get(0))));
            default -> throw refuse(node, "a gradient rule for " + op);
        }
        return d;
    }

    /**
     * Softmax's gradient when its output P feeds only {@code O = P V}: {@code dX = P (dP - s)} with each row's
     * {@code s = sum_j dP_ij P_ij}, which equals {@code sum_k dO_ik O_ik} because {@code dP = dO V^T}. The sum runs
     * over the head dimension instead of the [T x T] scores, so attention's backward makes two passes over them
     * where the general rule makes four (FlashAttention's identity).
     *
     * @param node the Softmax
     * @param gy the gradient of its output
     * @param matMul the MatMul it feeds as the left operand
     * @param gOut the gradient of that MatMul's output
     * @return the gradient of the Softmax's input
     */
    String softmaxBeforeMatMul(NodeProto node, String gy, NodeProto matMul, String gOut) {
        String y = node.getOutput(0);
        String s = g.node("ReduceSum", List.of(n("Mul", gOut, matMul.getOutput(0)), g.int64Vector(-1)),
                Map.of("keepdims", 1L));
        return n("Mul", y, n("Sub", gy, s));
    }

    private void matMul(NodeProto node, String gy, boolean[] needed, String[] d) {
        String a = node.getInput(0);
        String b = node.getInput(1);
        int ra = rankOf(node, a);
        int rb = rankOf(node, b);
        if (ra < 2 || rb < 2) {
            throw refuse(node, "MatMul operands of rank 2 or more (got ranks " + ra + " and " + rb + ")");
        }
        String y = node.getOutput(0);
        int ry = Math.max(ra, rb);
        String scale = deferredScale.get(y);
        if (needed[0]) {
            d[0] = unbroadcast(scaled(n("MatMul", gy, swapLast(b, rb)), scale), a, ry, matMulGradientDims(a, y));
        }
        if (needed[1]) {
            if (rb == 2) {
                // a weight: fold every leading axis into rows so the gradient is one GEMM, not a batch of them
                d[1] = scaled(n("MatMul", swapLast(rows(a), 2), rows(gy)), scale);
            } else if (longRowsLast(b)) {
                // (A^T G) = (G^T A)^T: an attention key's [hd x T] gradient is computed as [T x hd], whose rows
                // are many, and its transpose cancels the one the key was taken through
                d[1] = unbroadcast(swapLast(scaled(n("MatMul", swapLast(gy, ry), a), scale), ry), b, ry,
                        matMulGradientDims(b, y));
            } else {
                d[1] = unbroadcast(scaled(n("MatMul", swapLast(a, ra), gy), scale), b, ry, matMulGradientDims(b, y));
            }
        }
    }

    /**
     * Whether {@code x * c}, with {@code c} a scalar (not differentiated) and {@code x} a MatMul's output used by this Mul
     * alone, can leave the scaling to the MatMul's rule: attention's {@code (Q K^T) * 1/sqrt(d)} would otherwise
     * scale the [T x T] score gradient, where the MatMul's rule scales its [T x d] products.
     */
    private boolean deferScale(String x, String c) {
        NodeProto producer = producers.get(x);
        List<String> cd = facts.dims(c).orElse(null);
        boolean scalar = cd != null && cd.stream().allMatch("1"::equals) && cd.size() <= Math.max(0, facts.rank(x))
                && facts.type(c) == facts.type(x);
        if (!scalar || producer == null || !producer.getOpType().equals("MatMul") || uses.getOrDefault(x, 0) != 1) {
            return false;
        }
        deferredScale.put(x, c);
        return true;
    }

    private String scaled(String value, String scale) {
        return scale == null ? value : n("Mul", value, scale);
    }

    /**
     * The dimensions of a MatMul operand's unreduced gradient: the output's batch axes and the operand's own
     * matrix axes (which its product with the other operand restores exactly), so only batch broadcasts are
     * summed. Comparing with the output's matrix axes instead would leave an attention's [T x T] gradient to a
     * run-time reduction, a full copy when there is nothing to sum.
     */
    private Optional<List<String>> matMulGradientDims(String operand, String y) {
        Optional<List<String>> od = facts.dims(operand);
        Optional<List<String>> yd = facts.dims(y);
        if (od.isEmpty() || yd.isEmpty()) {
            return Optional.empty();
        }
        List<String> dims = new ArrayList<>(yd.get().subList(0, yd.get().size() - 2));
        dims.addAll(od.get().subList(od.get().size() - 2, od.get().size()));
        return Optional.of(dims);
    }

    private void gemm(NodeProto node, String gy, boolean[] needed, String[] d) {
        String a = node.getInput(0);
        String b = node.getInput(1);
        long transA = ValueFacts.intAttribute(node, "transA", 0);
        long transB = ValueFacts.intAttribute(node, "transB", 0);
        float alpha = ValueFacts.attribute(node, "alpha").map(x -> x.getF()).orElse(1f);
        float beta = ValueFacts.attribute(node, "beta").map(x -> x.getF()).orElse(1f);
        if (needed[0]) {
            d[0] = transA == 0
                    ? g.node("Gemm", List.of(gy, b), Map.of("alpha", alpha, "transB", 1 - transB))
                    : g.node("Gemm", List.of(b, gy), Map.of("alpha", alpha, "transA", transB, "transB", 1L));
        }
        if (needed[1]) {
            d[1] = transB == 0
                    ? g.node("Gemm", List.of(a, gy), Map.of("alpha", alpha, "transA", 1 - transA))
                    : g.node("Gemm", List.of(gy, a), Map.of("alpha", alpha, "transA", 1L, "transB", transA));
        }
        if (node.getInputCount() > 2 && needed[2]) {
            String scaled = beta == 1f ? gy : n("Mul", gy, scalar(beta, node.getOutput(0)));
            d[2] = unbroadcast(scaled, node.getInput(2), node.getOutput(0));
        }
    }

    private void reduce(NodeProto node, String gy, String[] d) {
        String x = node.getInput(0);
        Optional<long[]> axes = node.getInputCount() > 1 && !node.getInput(1).isEmpty()
                ? Optional.of(facts.constant(node.getInput(1))
                        .orElseThrow(() -> refuse(node, "constant reduction axes (an initializer)")))
                : ValueFacts.intsAttribute(node, "axes");
        boolean keep = ValueFacts.intAttribute(node, "keepdims", 1) == 1;
        if (axes.isPresent() && axes.get().length == 0 && ValueFacts.intAttribute(node, "noop_with_empty_axes", 0) == 1) {
            d[0] = gy;
            return;
        }
        String expanded = keep || axes.isEmpty() || axes.get().length == 0 ? gy : n("Unsqueeze", gy, g.int64Vector(axes.get()));
        String spread = n("Expand", expanded, shapeOf(x));
        if (node.getOpType().equals("ReduceSum")) {
            d[0] = spread;
        } else {
            String count = n("Div", g.node("Size", List.of(x), Map.of()), g.node("Size", List.of(node.getOutput(0)), Map.of()));
            d[0] = n("Div", spread, g.node("Cast", List.of(count), Map.of("to", (long) facts.type(x))));
        }
    }

    private void concat(NodeProto node, String gy, boolean[] needed, String[] d) {
        long axis = ValueFacts.intAttribute(node, "axis", 0);
        List<String> sizes = new ArrayList<>();
        long[] known = new long[node.getInputCount()];
        for (int i = 0; i < known.length; i++) {
            String x = node.getInput(i);
            List<String> dims = facts.dims(x).orElse(List.of());
            int at = (int) (axis < 0 ? axis + dims.size() : axis);
            String size = at >= 0 && at < dims.size() ? dims.get(at) : null;
            known[i] = size != null && size.matches("\\d+") ? Long.parseLong(size) : -1;
        }
        String split;
        if (Arrays.stream(known).allMatch(k -> k >= 0)) {
            split = g.int64Vector(known);
        } else {
            for (String x : node.getInputList()) {
                sizes.add(n("Gather", shapeOf(x), g.int64Vector(axis)));
            }
            split = sizes.size() == 1 ? sizes.get(0) : g.node("Concat", sizes, Map.of("axis", 0L));
        }
        List<String> parts = g.nodeWithOutputs("Split", List.of(gy, split), known.length, Map.of("axis", axis));
        for (int i = 0; i < d.length; i++) {
            d[i] = needed[i] ? parts.get(i) : null;
        }
    }

    private void split(NodeProto node, String[] outGrads, String[] d) {
        long axis = ValueFacts.intAttribute(node, "axis", 0);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < node.getOutputCount(); i++) {
            String out = node.getOutput(i);
            parts.add(outGrads[i] != null ? outGrads[i] : zerosLike(out, node.getInput(0)));
        }
        d[0] = g.node("Concat", parts, Map.of("axis", axis));
    }

    /**
     * Slice's gradient: zeros where the slice dropped elements. With constant bounds, a Pad ({@link #slicePad});
     * otherwise it scatters the output gradient back into zeros, one sliced axis at a time, the indices an axis
     * kept found by slicing a Range with the node's own starts and ends, so ONNX Runtime's clamping of bounds
     * computed at run time is reproduced exactly rather than re-implemented.
     */
    private String slice(NodeProto node, String gy) {
        String x = node.getInput(0);
        int rank = rankOf(node, x);
        String starts = node.getInput(1);
        String ends = node.getInput(2);
        long[] startsC = facts.constant(starts).orElse(null);
        long[] axes = node.getInputCount() > 3 && !node.getInput(3).isEmpty()
                ? facts.constant(node.getInput(3)).orElseThrow(() -> refuse(node, "constant Slice axes"))
                : startsC != null ? range(startsC.length) : null;
        if (axes == null) {
            throw refuse(node, "constant Slice starts or axes (to know which axes are sliced)");
        }
        if (node.getInputCount() > 4 && !node.getInput(4).isEmpty()) {
            long[] steps = facts.constant(node.getInput(4)).orElseThrow(() -> refuse(node, "constant Slice steps"));
            if (Arrays.stream(steps).anyMatch(s -> s != 1)) {
                throw refuse(node, "Slice steps of 1 (got " + Arrays.toString(steps) + ")");
            }
        }
        long[] endsC = facts.constant(ends).orElse(null);
        if (startsC != null && endsC != null) {
            return slicePad(x, rank, axes, startsC, endsC, gy);
        }
        String xShape = shapeOf(x);
        String current = gy;
        for (int k = axes.length - 1; k >= 0; k--) {
            long axis = axes[k] < 0 ? axes[k] + rank : axes[k];
            String dim = n("Gather", xShape, g.int64Vector(axis));
            String all = n("Range", g.int64Value(0), n("Squeeze", dim, g.int64Vector(0)),
                    g.int64Value(1));
            String kept = n("Slice", all, n("Gather", starts, g.int64Vector(k)), n("Gather", ends, g.int64Vector(k)),
                    g.int64Vector(0));
            long[] column = new long[rank];
            Arrays.fill(column, 1);
            column[(int) axis] = -1;
            String index = n("Expand", n("Reshape", kept, g.int64Vector(column)), shapeOf(current));
            // the target: the current shape with this axis restored to x's size
            String isAxis = n("Equal", n("Range", g.int64Value(0), g.int64Value(rank),
                    g.int64Value(1)), g.int64Value(axis));
            String target = n("Where", isAxis, xShape, shapeOf(current));
            String zeros = zeros(target, x);
            current = g.node("ScatterElements", List.of(zeros, index, current), Map.of("axis", axis));
        }
        return current;
    }

    /**
     * Constant bounds: the gradient is the output gradient padded back with zeros, one Pad node whose amounts
     * are Slice's clamped bounds (numbers when the axis size is known, else a few int64 nodes on its size), a
     * single pass where scattering into zeros costs an index tensor as large as the gradient.
     */
    private String slicePad(String x, int rank, long[] axes, long[] starts, long[] ends, String gy) {
        List<String> xd = facts.dims(x).orElse(null);
        long[] fixed = new long[2 * rank];
        String[] computed = new String[2 * rank];
        for (int k = 0; k < axes.length; k++) {
            int axis = (int) (axes[k] < 0 ? axes[k] + rank : axes[k]);
            String size = xd == null ? null : xd.get(axis);
            if (size != null && size.matches("\\d+")) {
                long n = Long.parseLong(size);
                long b = clampBound(starts[k], n);
                long e = Math.max(b, clampBound(ends[k], n));
                fixed[axis] = b;
                fixed[rank + axis] = n - e;
            } else {
                String dim = n("Gather", shapeOf(x), g.int64Vector(axis));
                String b = clampBound(starts[k], dim);
                String e = n("Max", b, clampBound(ends[k], dim));
                computed[axis] = b;
                computed[rank + axis] = n("Sub", dim, e);
            }
        }
        String pads;
        if (Arrays.stream(computed).allMatch(c -> c == null)) {
            pads = g.int64Vector(fixed);
        } else {
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < 2 * rank; i++) {
                parts.add(computed[i] != null ? computed[i] : g.int64Vector(fixed[i]));
            }
            pads = g.node("Concat", parts, Map.of("axis", 0L));
        }
        return g.node("Pad", List.of(gy, pads), Map.of("mode", "constant"));
    }

    /** A Slice bound (unit step) as the index it resolves to on an axis of size {@code n}. */
    private static long clampBound(long bound, long n) {
        return Math.max(0, Math.min(n, bound < 0 ? bound + n : bound));
    }

    /** The same on an axis whose size is known only when the graph runs ({@code dim}, an int64 [1]). */
    private String clampBound(long bound, String dim) {
        return bound < 0 ? n("Max", n("Add", dim, g.int64Vector(bound)), g.int64Vector(0))
                : n("Min", g.int64Vector(bound), dim);
    }

    private String gather(NodeProto node, String gy) {
        long axis = ValueFacts.intAttribute(node, "axis", 0);
        if (axis != 0) {
            throw refuse(node, "Gather on axis 0 when its data needs a gradient (got axis " + axis + ")");
        }
        if (opset < 16) {
            throw refuse(node, "opset 16 or later when Gather's data needs a gradient (ScatterND's reduction)");
        }
        String data = node.getInput(0);
        String indices = n("Unsqueeze", node.getInput(1), g.int64Vector(-1));
        return g.node("ScatterND", List.of(zeros(shapeOf(data), data), indices, gy), Map.of("reduction", "add"));
    }

    /** Sums {@code grad} (shaped like {@code y}) over the axes along which {@code x} was broadcast. */
    private String unbroadcast(String grad, String x, String y) {
        if (facts.rank(y) == ValueFacts.UNKNOWN) {
            throw new IllegalArgumentException("cannot differentiate a broadcast: the rank of '" + y
                    + "' is unknown (the gradient builder infers ranks through standard ops only)");
        }
        return unbroadcast(grad, x, facts.rank(y), facts.dims(y));
    }

    /**
     * Sums {@code grad}, of rank {@code ry} and dimensions {@code yDims} as far as known, over the axes along
     * which {@code x} was broadcast.
     */
    private String unbroadcast(String grad, String x, int ry, Optional<List<String>> yDims) {
        int rx = facts.rank(x);
        if (rx == ValueFacts.UNKNOWN) {
            throw new IllegalArgumentException("cannot differentiate a broadcast: the rank of '" + x
                    + "' is unknown (the gradient builder infers ranks through standard ops only)");
        }
        String current = grad;
        if (ry > rx) {
            current = g.node("ReduceSum", List.of(current, g.int64Vector(range(ry - rx))), Map.of("keepdims", 0L));
        }
        Optional<List<String>> xDims = facts.dims(x);
        if (xDims.isPresent() && yDims.isPresent()) {
            // decided when building, wherever each of x's axes is known to equal y's or to be 1: most broadcasts
            // in a decoder (residual adds, norms, biases) need no run-time shape arithmetic then
            List<String> yTail = yDims.get().subList(ry - rx, ry);
            List<Long> ones = new ArrayList<>();
            boolean decided = true;
            for (int i = 0; i < rx; i++) {
                String xd = xDims.get().get(i);
                if (xd.equals("1") && !yTail.get(i).equals("1")) {
                    ones.add((long) i);
                } else if (!xd.equals(yTail.get(i))) {
                    decided = false;
                }
            }
            if (decided) {
                return ones.isEmpty() ? current : g.node("ReduceSum",
                        List.of(current, g.int64Vector(ones.stream().mapToLong(Long::longValue).toArray())), Map.of("keepdims", 1L));
            }
        }
        if (rx == 0) {
            return current;
        }
        // only the axes where x is 1 and the gradient is not: a ReduceSum over size-1 axes is a full copy in ONNX
        // Runtime, and in a decoder these are usually none (then noop_with_empty_axes passes the gradient through)
        String one = g.int64Value(1);
        String broadcast = n("And", n("Equal", shapeOf(x), one), n("Not", n("Equal", g.node("Shape", List.of(current), Map.of()), one)));
        String onesAxes = n("Squeeze", n("NonZero", broadcast), g.int64Vector(0));
        return g.node("ReduceSum", List.of(current, onesAxes), Map.of("keepdims", 1L, "noop_with_empty_axes", 1L));
    }

    private String rows(String x) {
        Optional<List<String>> dims = facts.dims(x);
        if (dims.isPresent() && !dims.get().isEmpty() && dims.get().get(dims.get().size() - 1).matches("\\d+")) {
            long width = Long.parseLong(dims.get().get(dims.get().size() - 1));
            return n("Reshape", x, g.int64Vector(-1, width));
        }
        String last = n("Slice", shapeOf(x), g.int64Vector(-1), g.int64Vector(Long.MAX_VALUE));
        return n("Reshape", x, g.node("Concat", List.of(g.int64Vector(-1), last), Map.of("axis", 0L)));
    }

    /** Whether a right MatMul operand is [fixed size x symbolic size] (a transposed key: head dim by positions). */
    private boolean longRowsLast(String b) {
        List<String> dims = facts.dims(b).orElse(List.of());
        return dims.size() >= 2 && dims.get(dims.size() - 2).matches("\\d+")
                && !dims.get(dims.size() - 1).matches("\\d+");
    }

    /** {@code x} with its last two axes swapped: the value it was swapped from, if any, else one shared Transpose. */
    private String swapLast(String x, int rank) {
        String from = swappedFrom.get(x);
        if (from != null) {
            return from;
        }
        return swapped.computeIfAbsent(x, v -> {
            String out = g.node("Transpose", List.of(v), Map.of("perm", swapLastPerm(rank)));
            swappedFrom.put(out, v);
            return out;
        });
    }

    private String shapeOf(String x) {
        return shapes.computeIfAbsent(x, v -> g.node("Shape", List.of(v), Map.of()));
    }

    private String zeros(String shape, String like) {
        TensorProto zero = TensorProto.newBuilder().setDataType(facts.type(like) == TensorProto.DataType.UNDEFINED_VALUE
                ? TensorProto.DataType.FLOAT_VALUE : facts.type(like)).addDims(1).build();
        TensorProto value = withZero(zero);
        return g.node("ConstantOfShape", List.of(shape), Map.of("value", value));
    }

    private String zerosLike(String out, String typeSource) {
        return zeros(shapeOf(out), typeSource);
    }

    private static TensorProto withZero(TensorProto t) {
        TensorProto.Builder b = t.toBuilder();
        switch (t.getDataType()) {
            case TensorProto.DataType.DOUBLE_VALUE -> b.addDoubleData(0);
            case TensorProto.DataType.FLOAT_VALUE -> b.addFloatData(0);
            default -> b.addInt32Data(0);
        }
        return b.build();
    }

    private String scalar(double value, String like) {
        int type = facts.type(like);
        return g.typedScalar(value, type == TensorProto.DataType.UNDEFINED_VALUE ? TensorProto.DataType.FLOAT_VALUE : type);
    }

    private String castLike(String value, String like) {
        return facts.type(value) == facts.type(like) ? value
                : g.node("Cast", List.of(value), Map.of("to", (long) facts.type(like)));
    }

    private int rankOf(NodeProto node, String value) {
        int r = facts.rank(value);
        if (r == ValueFacts.UNKNOWN) {
            throw refuse(node, "a known rank for '" + value + "'");
        }
        return r;
    }

    private String n(String op, String... inputs) {
        return g.node(op, inputs);
    }

    private static long[] range(int n) {
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    static IllegalArgumentException refuse(NodeProto node, String needed) {
        return new IllegalArgumentException("cannot differentiate node '" + node.getName() + "' (" + node.getOpType()
                + "): the gradient builder needs " + needed);
    }
}
