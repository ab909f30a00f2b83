package io.github.mmupt.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.github.mmupt.head.HeadWeights;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The head forms real exports use, each on a generated graph run by ONNX Runtime: found, read as the float32
 * weight ONNX Runtime computes with (logits of the detached trunk times the head equal the original logits),
 * detached without leaving dead weights (tied embeddings stay, their lookup unchanged), and exported as a
 * separate float32 head that ONNX Runtime runs.
 */
class HeadFormsTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final int S = 3;
    private static final int D = 32;
    private static final int V = 24;

    @Test
    void tiedThroughTranspose() throws Exception {
        check("tied to embed_tokens.weight through Transpose", true, g -> g.node("MatMul", g.x, g.node("Transpose",
                java.util.List.of(g.embeddings), Map.of("perm", new long[] {1, 0}))), m -> m);
    }

    @Test
    void tiedThroughGemmTransB() throws Exception {
        check("tied to embed_tokens.weight (float32)", true, g -> g.node("Gemm", java.util.List.of(g.x, g.embeddings),
                Map.of("transB", 1L)), m -> m);
    }

    @Test
    void float16WeightThroughCast() throws Exception {
        float[] w = gaussian(D * V, 0.3, 4);
        check("a separate lm_head.fp16 through Cast", false, g -> g.node("MatMul", g.x, g.node("Cast",
                java.util.List.of("lm_head.fp16"), Map.of("to", (long) TensorProto.DataType.FLOAT_VALUE))),
                m -> withInitializer(m, half("lm_head.fp16", new long[] {D, V}, w)));
    }

    @Test
    void int8WeightThroughDequantizeLinearPerColumn() throws Exception {
        Random rng = new Random(5);
        byte[] q = new byte[D * V];
        rng.nextBytes(q);
        float[] scales = new float[V];
        byte[] zeros = new byte[V];
        for (int j = 0; j < V; j++) {
            scales[j] = 0.002f + 0.001f * j;
            zeros[j] = (byte) (j - 12);
        }
        check("a separate lm_head.q through DequantizeLinear", false, g -> g.node("MatMul", g.x, g.node("DequantizeLinear",
                java.util.List.of("lm_head.q", "lm_head.scale", "lm_head.zero"), Map.of("axis", 1L))),
                m -> withInitializer(withInitializer(withInitializer(m, bytes("lm_head.q", TensorProto.DataType.INT8,
                        new long[] {D, V}, q)), floats("lm_head.scale", new long[] {V}, scales)),
                        bytes("lm_head.zero", TensorProto.DataType.INT8, new long[] {V}, zeros)));
    }

    @Test
    void fourBitMatMulNBitsWithZeroPoints() throws Exception {
        nBits(4, true);
    }

    @Test
    void eightBitMatMulNBitsWithoutZeroPoints() throws Exception {
        nBits(8, false);
    }

    private static void nBits(int bits, boolean withZeros) throws Exception {
        int block = 16;
        int blocks = D / block;
        int blob = block * bits / 8;
        Random rng = new Random(bits);
        byte[] packed = new byte[V * blocks * blob];
        rng.nextBytes(packed);
        float[] scales = new float[V * blocks];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = 0.01f + 0.002f * (i % 7);
        }
        int zpPerRow = bits == 4 ? (blocks + 1) / 2 : blocks;
        byte[] zeros = new byte[V * zpPerRow];
        rng.nextBytes(zeros);
        String form = "a separate lm_head.nbits through " + bits + "-bit MatMulNBits (block " + block + ")";
        check(form, false, g -> {
            java.util.List<String> in = withZeros ? java.util.List.of(g.x, "lm_head.nbits", "lm_head.scales", "lm_head.zp")
                    : java.util.List.of(g.x, "lm_head.nbits", "lm_head.scales");
            return g.node("MatMulNBits", in, Map.of("K", (long) D, "N", (long) V, "bits", (long) bits, "block_size",
                    (long) block));
        }, m -> {
            ModelProto out = withInitializer(withInitializer(m, bytes("lm_head.nbits", TensorProto.DataType.UINT8,
                    new long[] {V, blocks, blob}, packed)), floats("lm_head.scales", new long[] {V * blocks}, scales));
            if (withZeros) {
                out = withInitializer(out, bytes("lm_head.zp", TensorProto.DataType.UINT8, new long[] {V * zpPerRow}, zeros));
            }
            return out.toBuilder().setGraph(out.getGraph().toBuilder().setNode(out.getGraph().getNodeCount() - 2,
                    out.getGraph().getNode(out.getGraph().getNodeCount() - 2).toBuilder().setDomain("com.microsoft")))
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1)).build();
        });
    }

    /** A graph: x = hidden + embed_tokens.weight[ids] (the embedding lookup), logits = head(x); hidden output x. */
    private static final class Graph {
        final GraphBuilder b = new GraphBuilder("head_forms");
        final String x;
        final String embeddings = "embed_tokens.weight";

        Graph() {
            String hidden = b.input("hidden", TensorProto.DataType.FLOAT, (long) S, (long) D);
            String ids = b.input("ids", TensorProto.DataType.INT64, (long) S);
            b.initializer(embeddings, new long[] {V, D}, gaussian(V * D, 0.5, 3));
            x = b.node("Add", hidden, b.node("Gather", embeddings, ids));
            b.identity(x, "x_out");
        }

        String node(String op, String... inputs) {
            return b.node(op, inputs);
        }

        String node(String op, java.util.List<String> inputs, Map<String, Object> attributes) {
            return b.node(op, inputs, attributes);
        }
    }

    private static void check(String form, boolean tied, Function<Graph, String> head,
            Function<ModelProto, ModelProto> extra) throws Exception {
        Graph g = new Graph();
        g.b.identity(head.apply(g), "logits");
        g.b.output("logits", TensorProto.DataType.FLOAT, (long) S, (long) V);
        g.b.output("x_out", TensorProto.DataType.FLOAT, (long) S, (long) D);
        OnnxModel model = OnnxModel.of(extra.apply(g.b.build()), "head-forms.onnx");
        Map<String, float[]> original = run(model);

        HeadSurgery.HeadLocation loc = HeadSurgery.locate(model, "logits");
        assertThat(loc.form()).isEqualTo(form);
        assertThat(loc.vocabSize()).isEqualTo(V);
        assertThat(loc.hiddenSize()).isEqualTo(D);
        HeadSurgery.Detached detached = HeadSurgery.detach(model, "logits", "hidden_states");
        Map<String, float[]> trunk = run(detached.trunk());
        HeadSurgeryTest.assertClose(HeadSurgeryTest.matmulT(trunk.get("hidden_states"), detached.head().weight(), S, D, V),
                original.get("logits"), 1e-4, form + ": trunk x head = logits");
        assertThat(trunk.get("x_out")).as("the embedding lookup is unchanged").containsExactly(original.get("x_out"));
        assertThat(detached.trunk().initializerNames().contains("embed_tokens.weight")).isTrue();
        assertThat(detached.trunk().initializerNames()).as("no dead head weights").containsExactly("embed_tokens.weight");

        float[] w = detached.head().weight();
        for (int i = 0; i < w.length; i++) {
            w[i] = w[i] * 0.5f + 0.01f * (i % 5);
        }
        OnnxModel exported = HeadSurgery.attach(model, "logits", HeadWeights.full(detached.head().shape(), w));
        Map<String, float[]> after = run(OnnxModel.parse(exported.toBytes(), "exported.onnx"));
        HeadSurgeryTest.assertClose(after.get("logits"), HeadSurgeryTest.matmulT(trunk.get("hidden_states"), w, S, D, V),
                1e-4, form + ": the exported head");
        assertThat(after.get("x_out")).as("the embeddings are untouched").containsExactly(original.get("x_out"));
        assertThat(exported.initializerNames()).containsExactlyInAnyOrder("embed_tokens.weight",
                HeadSurgery.TRAINED_WEIGHT);
        assertThat(HeadSurgery.detach(exported, "logits", "h").head().weight()).isEqualTo(w);
        assertThat(tied).isEqualTo(form.startsWith("tied"));
    }

    private static Map<String, float[]> run(OnnxModel model) throws Exception {
        Random rng = new Random(9);
        FloatBuffer hidden = ByteBuffer.allocateDirect(4 * S * D).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < S * D; i++) {
            hidden.put(i, (float) rng.nextGaussian());
        }
        LongBuffer ids = ByteBuffer.allocateDirect(8 * S).order(ByteOrder.nativeOrder()).asLongBuffer();
        for (int i = 0; i < S; i++) {
            ids.put(i, 5L * i + 1);
        }
        try (OrtSession s = ENV.createSession(model.toBytes(), new OrtSession.SessionOptions());
                OnnxTensor h = OnnxTensor.createTensor(ENV, hidden, new long[] {S, D});
                OnnxTensor i = OnnxTensor.createTensor(ENV, ids, new long[] {S});
                OrtSession.Result r = s.run(Map.of("hidden", h, "ids", i))) {
            Map<String, float[]> out = new java.util.HashMap<>();
            for (var e : r) {
                FloatBuffer b = ((OnnxTensor) e.getValue()).getFloatBuffer();
                float[] v = new float[b.remaining()];
                b.get(v);
                out.put(e.getKey(), v);
            }
            return out;
        }
    }

    private static ModelProto withInitializer(ModelProto m, TensorProto t) {
        return m.toBuilder().setGraph(m.getGraph().toBuilder().addInitializer(t)).build();
    }

    private static TensorProto bytes(String name, TensorProto.DataType type, long[] dims, byte[] values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(values));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static TensorProto floats(String name, long[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return bytes(name, TensorProto.DataType.FLOAT, dims, b.array());
    }

    /** float16 by round-to-nearest of each value (Java 17 has no Float.floatToFloat16). */
    private static TensorProto half(String name, long[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(toHalf(v));
        }
        return bytes(name, TensorProto.DataType.FLOAT16, dims, b.array());
    }

    private static short toHalf(float v) {
        int bits = Float.floatToIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mantissa = bits & 0x7FFFFF;
        if (exponent <= 0) {
            return (short) sign; // the test's values are far from the subnormal range
        }
        int rounded = (exponent << 10 | mantissa >> 13) + ((mantissa >> 12) & 1);
        return (short) (sign | rounded);
    }

    static float[] gaussian(int n, double scale, long seed) {
        Random rng = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * scale);
        }
        return x;
    }
}
