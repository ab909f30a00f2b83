package io.github.mmupt.onnx.grad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.TensorProto;
import io.github.mmupt.onnx.grad.GradientCheck.Value;
import io.github.mmupt.onnx.model.GraphBuilder;
import io.github.mmupt.onnx.model.OnnxModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Every gradient rule against central finite differences in double precision, one small graph per case, run by
 * ONNX Runtime (the forward graph and the generated gradient graph in the same runtime). Broadcasting, repeated
 * consumers, ops off the path and the refusals are covered too.
 */
class GradientRulesTest {

    private static final TensorProto.DataType DOUBLE = TensorProto.DataType.DOUBLE;
    private static final double TOLERANCE = 1e-6;

    /** One case: named double inputs with shapes, the ones differentiated, the output's shape and the graph. */
    private record Case(Map<String, long[]> inputs, List<String> wrt, long[] outShape, Function<GraphBuilder, String> body,
            boolean positive) {
    }

    private static Case of(Map<String, long[]> inputs, List<String> wrt, long[] outShape, Function<GraphBuilder, String> body) {
        return new Case(inputs, wrt, outShape, body, false);
    }

    private static Case positive(Map<String, long[]> inputs, List<String> wrt, long[] outShape,
            Function<GraphBuilder, String> body) {
        return new Case(inputs, wrt, outShape, body, true);
    }

    private static Map<String, long[]> in(Object... namesAndShapes) {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (int i = 0; i < namesAndShapes.length; i += 2) {
            m.put((String) namesAndShapes[i], (long[]) namesAndShapes[i + 1]);
        }
        return m;
    }

    private static long[] s(long... dims) {
        return dims;
    }

    private static Map<String, Object> attrs(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Builds the case's graph, checks every differentiated input element by element; returns the worst error. */
    private static double check(Case c, long seed) throws Exception {
        GraphBuilder g = new GraphBuilder("case");
        c.inputs().forEach((name, shape) -> g.input(name, DOUBLE, Arrays.stream(shape).boxed().toArray()));
        String y = c.body().apply(g);
        g.output(g.identity(y, "y"), DOUBLE, Arrays.stream(c.outShape()).boxed().toArray());
        OnnxModel model = OnnxModel.of(g.build(), "case");
        Random random = new Random(seed);
        Map<String, Value> inputs = new LinkedHashMap<>();
        c.inputs().forEach((name, shape) -> inputs.put(name, random(random, shape, c.positive())));
        Value r = random(random, c.outShape(), false);
        double worst = 0;
        try (GradientCheck check = new GradientCheck(model, List.of("y"), c.wrt(), Map.of("y", r))) {
            Map<String, double[]> analytic = check.gradients(inputs);
            for (String w : c.wrt()) {
                double[] numeric = check.finiteDifferences(inputs, w, 1e-5);
                double[] a = analytic.get(w);
                assertThat(a).as("gradient of %s has the input's size", w).hasSize(numeric.length);
                for (int i = 0; i < a.length; i++) {
                    double err = Math.abs(a[i] - numeric[i]) / (1 + Math.abs(numeric[i]));
                    worst = Math.max(worst, err);
                    assertThat(err).as("d/d%s[%d]: analytic %s, numeric %s", w, i, a[i], numeric[i]).isLessThan(TOLERANCE);
                }
            }
        }
        return worst;
    }

    private static Value random(Random random, long[] shape, boolean positive) {
        int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double magnitude = 0.3 + random.nextDouble();
            v[i] = positive || random.nextBoolean() ? magnitude : -magnitude;
        }
        return new Value(v, shape);
    }

    private static String unary(GraphBuilder g, String op) {
        return g.node(op, "x");
    }

    @Test
    void elementwiseRulesWithBroadcasting() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.add(of(in("x", s(2, 3, 4), "b", s(3, 1)), List.of("x", "b"), s(2, 3, 4), g -> g.node("Add", "x", "b")));
        cases.add(of(in("x", s(2, 3), "b", s(1, 3)), List.of("x", "b"), s(2, 3), g -> g.node("Sub", "x", "b")));
        cases.add(of(in("x", s(2, 1, 4), "b", s(3, 1)), List.of("x", "b"), s(2, 3, 4), g -> g.node("Mul", "x", "b")));
        cases.add(positive(in("x", s(2, 3), "b", s(3)), List.of("x", "b"), s(2, 3), g -> g.node("Div", "x", "b")));
        cases.add(of(in("x", s(2, 3), "b", s(2, 3), "c", s(3)), List.of("x", "b", "c"), s(2, 3),
                g -> g.node("Sum", "x", "b", "c")));
        cases.add(of(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Neg")));
        cases.add(positive(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Sqrt")));
        cases.add(positive(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Reciprocal")));
        cases.add(of(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Exp")));
        cases.add(positive(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Log")));
        cases.add(of(in("x", s(3, 4)), List.of("x"), s(3, 4), g -> unary(g, "Relu")));
        cases.add(of(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Sigmoid")));
        cases.add(of(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Tanh")));
        cases.add(of(in("x", s(3, 2)), List.of("x"), s(3, 2), g -> unary(g, "Identity")));
        cases.add(positive(in("x", s(3, 2)), List.of("x"), s(3, 2),
                g -> g.node("Pow", "x", g.typedScalar(2.5, TensorProto.DataType.DOUBLE_VALUE))));
        cases.add(positive(in("x", s(3, 2)), List.of("x"), s(3, 2),
                g -> g.node("Pow", "x", g.typedScalar(3, TensorProto.DataType.FLOAT_VALUE))));
        // SiLU and the RMSNorm as the decoders write them: x reaches the output along several paths
        cases.add(of(in("x", s(2, 3)), List.of("x"), s(2, 3), g -> g.node("Mul", "x", g.node("Sigmoid", "x"))));
        cases.add(of(in("x", s(2, 3, 4), "gain", s(4)), List.of("x", "gain"), s(2, 3, 4), g -> {
            String ms = g.node("ReduceMean", List.of(g.node("Mul", "x", "x")), attrs("axes", new long[] {-1}, "keepdims", 1L));
            String rms = g.node("Sqrt", g.node("Add", ms, g.typedScalar(1e-6, TensorProto.DataType.DOUBLE_VALUE)));
            return g.node("Mul", g.node("Div", "x", rms), "gain");
        }));
        for (Case c : cases) {
            check(c, 11);
        }
    }

    @Test
    void matMulAndGemmInEveryLayout() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.add(of(in("a", s(2, 3, 4), "w", s(4, 5)), List.of("a", "w"), s(2, 3, 5), g -> g.node("MatMul", "a", "w")));
        cases.add(of(in("a", s(2, 1, 3, 4), "b", s(3, 4, 2)), List.of("a", "b"), s(2, 3, 3, 2), g -> g.node("MatMul", "a", "b")));
        cases.add(of(in("a", s(3, 4), "b", s(4, 2)), List.of("a", "b"), s(3, 2), g -> g.node("MatMul", "a", "b")));
        for (long ta = 0; ta <= 1; ta++) {
            for (long tb = 0; tb <= 1; tb++) {
                long[] aShape = ta == 0 ? s(3, 4) : s(4, 3);
                long[] bShape = tb == 0 ? s(4, 5) : s(5, 4);
                long transA = ta;
                long transB = tb;
                cases.add(of(in("a", aShape, "b", bShape, "c", s(5)), List.of("a", "b", "c"), s(3, 5),
                        g -> g.node("Gemm", List.of("a", "b", "c"),
                                attrs("transA", transA, "transB", transB, "alpha", 0.7f, "beta", 1.3f))));
            }
        }
        cases.add(of(in("a", s(3, 4), "b", s(4, 5), "c", s(3, 1)), List.of("c"), s(3, 5),
                g -> g.node("Gemm", List.of("a", "b", "c"), attrs())));
        for (Case c : cases) {
            check(c, 12);
        }
    }

    @Test
    void reductionsAndSoftmax() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 3, 4), g -> g.node("Softmax", List.of("x"), attrs("axis", -1L))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 3, 4), g -> g.node("Softmax", List.of("x"), attrs("axis", 1L))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 3, 1),
                g -> g.node("ReduceMean", List.of("x"), attrs("axes", new long[] {-1}, "keepdims", 1L))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 4),
                g -> g.node("ReduceSum", List.of("x", g.int64Vector(1)), attrs("keepdims", 0L))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(),
                g -> g.node("ReduceMean", List.of("x"), attrs("keepdims", 0L))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(3),
                g -> g.node("ReduceMean", List.of("x"), attrs("axes", new long[] {0, 2}, "keepdims", 0L))));
        for (Case c : cases) {
            check(c, 13);
        }
    }

    @Test
    void shapeAndIndexingRules() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(4, 2, 3),
                g -> g.node("Transpose", List.of("x"), attrs("perm", new long[] {2, 0, 1}))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(4, 3, 2), g -> g.node("Transpose", List.of("x"), attrs())));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 12), g -> g.node("Reshape", "x", g.int64Vector(0, -1))));
        cases.add(of(in("x", s(2, 3)), List.of("x"), s(2, 1, 3), g -> g.node("Unsqueeze", "x", g.int64Vector(1))));
        cases.add(of(in("x", s(2, 1, 3)), List.of("x"), s(2, 3), g -> g.node("Squeeze", "x", g.int64Vector(1))));
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 12), g -> g.node("Flatten", List.of("x"), attrs("axis", 1L))));
        cases.add(of(in("x", s(3, 1)), List.of("x"), s(2, 3, 4), g -> g.node("Expand", "x", g.int64Vector(2, 3, 4))));
        cases.add(of(in("x", s(2, 3), "u", s(2, 2), "z", s(2, 1)), List.of("x", "z"), s(2, 6),
                g -> g.node("Concat", List.of("x", "u", "z"), attrs("axis", -1L))));
        cases.add(of(in("x", s(2, 5)), List.of("x"), s(2, 5), g -> {
            List<String> parts = g.nodeWithOutputs("Split", List.of("x", g.int64Vector(2, 3)), 2, attrs("axis", 1L));
            // only the second part reaches the loss directly; the first goes through a Neg
            return g.node("Concat", List.of(parts.get(1), g.node("Neg", parts.get(0))), attrs("axis", 1L));
        }));
        cases.add(of(in("x", s(2, 5)), List.of("x"), s(2, 3), g -> {
            List<String> parts = g.nodeWithOutputs("Split", List.of("x", g.int64Vector(2, 3)), 2, attrs("axis", 1L));
            return parts.get(1);
        }));
        // rotate_half: the last axis's halves
        cases.add(of(in("x", s(2, 3, 4)), List.of("x"), s(2, 3, 4), g -> {
            String first = g.node("Slice", "x", g.int64Vector(0), g.int64Vector(2), g.int64Vector(-1));
            String second = g.node("Slice", "x", g.int64Vector(2), g.int64Vector(Long.MAX_VALUE), g.int64Vector(-1));
            return g.node("Concat", List.of(g.node("Neg", second), first), attrs("axis", -1L));
        }));
        cases.add(of(in("x", s(4, 5, 3)), List.of("x"), s(2, 5, 2),
                g -> g.node("Slice", "x", g.int64Vector(-3, 1), g.int64Vector(-1, 100), g.int64Vector(0, 2))));
        cases.add(of(in("x", s(4, 3)), List.of("x"), s(2, 3),
                g -> g.node("Slice", "x", g.int64Vector(1), g.int64Vector(3))));
        cases.add(of(in("table", s(5, 3)), List.of("table"), s(2, 2, 3),
                g -> g.node("Gather", "table", g.node("Reshape", g.int64Initializer("ids", 1, 4, 1, 0), g.int64Vector(2, 2)))));
        cases.add(of(in("x", s(2, 3), "u", s(3)), List.of("x", "u"), s(2, 3),
                g -> g.node("Where", g.node("Greater", "x", g.typedScalar(0, TensorProto.DataType.DOUBLE_VALUE)), "x", "u")));
        for (Case c : cases) {
            check(c, 14);
        }
    }

    @Test
    void castsAndFloatGraphsAtFloatPrecision() throws Exception {
        // Erf, Sin and Cos have float kernels only: a float graph, checked along random directions at float's tolerance
        GraphBuilder g = new GraphBuilder("float_case");
        g.input("x", TensorProto.DataType.FLOAT, 3L, 4L);
        String gelu = g.node("Mul", "x", g.node("Add", g.node("Erf", g.node("Mul", "x", g.floatScalar("k", 0.70710678f))),
                g.floatScalar("one", 1f)));
        String waves = g.node("Add", g.node("Sin", gelu), g.node("Cos", "x"));
        String asDouble = g.node("Cast", List.of(g.node("Add", gelu, waves)), attrs("to", (long) TensorProto.DataType.DOUBLE_VALUE));
        g.output(g.identity(asDouble, "y"), DOUBLE, 3L, 4L);
        Random random = new Random(5);
        float[] x = new float[12];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        Map<String, Value> inputs = Map.of("x", new Value(x, s(3, 4)));
        Value r = random(random, s(3, 4), false);
        try (GradientCheck check = new GradientCheck(OnnxModel.of(g.build(), "float_case"), List.of("y"), List.of("x"),
                Map.of("y", r))) {
            double[] analytic = check.gradients(inputs).get("x");
            double[] numeric = check.finiteDifferences(inputs, "x", 1e-2);
            for (int i = 0; i < analytic.length; i++) {
                assertThat(Math.abs(analytic[i] - numeric[i])).as("element %d", i).isLessThan(2e-3 * (1 + Math.abs(numeric[i])));
            }
        }
    }

    /**
     * Attention as decoders write it, with the sequence length symbolic as in an export: scores through a
     * transposed key, a Softmax feeding only the product with the values (FlashAttention's row sums), a second
     * Softmax whose output also reaches the loss directly (the general rule), and slices with constant bounds
     * (Pad) on an axis of known and one of symbolic size.
     */
    @Test
    void attentionWithASymbolicSequenceLength() throws Exception {
        GraphBuilder g = new GraphBuilder("attention");
        g.input("q", DOUBLE, 2L, "T", 4L);
        g.input("k", DOUBLE, 2L, "T", 4L);
        g.input("v", DOUBLE, 2L, "T", 3L);
        String scores = g.node("MatMul", "q", g.node("Transpose", List.of("k"), attrs("perm", new long[] {0, 2, 1})));
        String scaled = g.node("Mul", scores, g.typedScalar(0.5, TensorProto.DataType.DOUBLE_VALUE));
        String out = g.node("MatMul", g.node("Softmax", List.of(scaled), attrs("axis", -1L)), "v");
        String shared = g.node("Softmax", List.of(scaled), attrs("axis", -1L));
        String both = g.node("Add", g.node("MatMul", shared, "v"), g.node("Slice", shared, g.int64Vector(0),
                g.int64Vector(3), g.int64Vector(-1)));
        String tail = g.node("Slice", "v", g.int64Vector(1), g.int64Vector(3), g.int64Vector(2));
        String y = g.node("Concat", List.of(g.node("Add", out, both), tail), attrs("axis", 2L));
        g.output(g.identity(y, "y"), DOUBLE, 2L, "T", 5L);
        OnnxModel model = OnnxModel.of(g.build(), "attention");
        GradientGraph grad = GradientGraph.build(model, List.of("y"), List.of("q", "k", "v"));
        List<String> ops = grad.model().graph().getNodeList().stream().map(n -> n.getOpType()).toList();
        // one broadcast is decided at run time, rightly: a slice of at most 3 of T positions added to 3 columns
        assertThat(ops.stream().filter("NonZero"::equals).count()).as("broadcasts reduced at run time").isEqualTo(1);
        assertThat(ops).doesNotContain("ScatterElements").contains("Pad");
        Random random = new Random(21);
        int t = 5;
        Map<String, Value> inputs = new LinkedHashMap<>();
        inputs.put("q", random(random, s(2, t, 4), false));
        inputs.put("k", random(random, s(2, t, 4), false));
        inputs.put("v", random(random, s(2, t, 3), false));
        try (GradientCheck check = new GradientCheck(model, List.of("y"), List.of("q", "k", "v"),
                Map.of("y", random(random, s(2, t, 5), false)))) {
            Map<String, double[]> analytic = check.gradients(inputs);
            for (String w : List.of("q", "k", "v")) {
                double[] numeric = check.finiteDifferences(inputs, w, 1e-5);
                for (int i = 0; i < numeric.length; i++) {
                    assertThat(Math.abs(analytic.get(w)[i] - numeric[i]) / (1 + Math.abs(numeric[i])))
                            .as("d/d%s[%d]", w, i).isLessThan(TOLERANCE);
                }
            }
        }
    }

    @Test
    void inputsNoOutputDependsOnGetZeros() throws Exception {
        Case c = of(in("x", s(2, 3), "unused", s(4)), List.of("x", "unused"), s(2, 3), g -> g.node("Exp", "x"));
        check(c, 15);
    }

    @Property(tries = 25)
    void broadcastingBinaryOpsForAnyShapes(@ForAll @IntRange(min = 0, max = 63) int broadcastMask,
            @ForAll @IntRange(min = 0, max = 3) int opIndex, @ForAll @IntRange(min = 0, max = 2) int dropLeading)
            throws Exception {
        long[] full = s(2, 3, 2);
        long[] a = full.clone();
        long[] b = full.clone();
        for (int i = 0; i < 3; i++) {
            if ((broadcastMask & (1 << i)) != 0) {
                a[i] = 1;
            }
            if ((broadcastMask & (1 << (i + 3))) != 0) {
                b[i] = 1;
            }
        }
        long[] bDropped = Arrays.copyOfRange(b, dropLeading, 3);
        long[] out = new long[3];
        for (int i = 0; i < 3; i++) {
            out[i] = Math.max(a[i], i < dropLeading ? 1 : b[i]);
        }
        String op = List.of("Add", "Sub", "Mul", "Div").get(opIndex);
        Case c = new Case(in("a", a, "b", bDropped), List.of("a", "b"), out, g -> g.node(op, "a", "b"), op.equals("Div"));
        check(c, broadcastMask * 7L + opIndex);
    }

    @Property(tries = 15)
    void matMulForAnyShapes(@ForAll @IntRange(min = 1, max = 4) int m, @ForAll @IntRange(min = 1, max = 4) int k,
            @ForAll @IntRange(min = 1, max = 4) int n, @ForAll @IntRange(min = 0, max = 2) int batch) throws Exception {
        long[] aShape = batch == 0 ? s(m, k) : batch == 1 ? s(2, m, k) : s(2, 1, m, k);
        long[] bShape = batch == 2 ? s(3, k, n) : s(k, n);
        long[] out = batch == 0 ? s(m, n) : batch == 1 ? s(2, m, n) : s(2, 3, m, n);
        check(of(in("a", aShape, "b", bShape), List.of("a", "b"), out, g -> g.node("MatMul", "a", "b")), m * 100L + k * 10 + n);
    }

    @Test
    void refusesWhatItCannotDifferentiate() throws Exception {
        GraphBuilder g = new GraphBuilder("refused");
        g.input("x", DOUBLE, 2L, 3L);
        g.output(g.identity(g.node("Tile", "x", g.int64Vector(2, 1)), "y"), DOUBLE, 4L, 3L);
        OnnxModel model = OnnxModel.of(g.build(), "refused");
        assertThatThrownBy(() -> GradientGraph.build(model, List.of("y"), List.of("x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no gradient rule for Tile")
                .hasMessageContaining("tile_1_node");
        assertThatThrownBy(() -> GradientGraph.build(model, List.of("y"), List.of("nope")))
                .hasMessageContaining("'nope'").hasMessageContaining("neither an input nor an initializer");
        assertThatThrownBy(() -> GradientGraph.build(model, List.of("logits"), List.of("x")))
                .hasMessageContaining("'logits'").hasMessageContaining("[y]");
        OnnxModel old = OnnxModel.of(model.proto().toBuilder().setOpsetImport(0,
                model.proto().getOpsetImport(0).toBuilder().setVersion(12)).build(), "old");
        assertThatThrownBy(() -> GradientGraph.build(old, List.of("y"), List.of("x"))).hasMessageContaining("opset is 12");
    }

    @Test
    void frozenWeightsGetNoGradientNodes() throws Exception {
        GraphBuilder g = new GraphBuilder("frozen");
        g.input("x", DOUBLE, 2L, 3L);
        g.input("a", DOUBLE, 3L, 3L);
        String frozen = g.node("Sigmoid", g.node("MatMul", "x", "a"));
        g.output(g.identity(g.node("Add", frozen, "x"), "y"), DOUBLE, 2L, 3L);
        OnnxModel model = OnnxModel.of(g.build(), "frozen");
        GradientGraph grad = GradientGraph.build(model, List.of("y"), List.of("x"));
        long gradientMatMuls = grad.model().graph().getNodeList().stream()
                .filter(n -> n.getName().startsWith(GradientGraph.PREFIX) && n.getOpType().equals("MatMul")).count();
        // x needs the MatMul's gradient towards x (one MatMul), never the one towards the weight a
        assertThat(gradientMatMuls).isEqualTo(1);
        GradientGraph onlyA = GradientGraph.build(model, List.of("y"), List.of("a"));
        assertThat(onlyA.model().graph().getNodeList().stream()
                .filter(n -> n.getName().startsWith(GradientGraph.PREFIX) && n.getOpType().equals("MatMul")).count()).isEqualTo(1);
    }
}
