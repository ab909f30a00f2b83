package io.github.mmupt.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.tiny.TinyModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeadSurgeryTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final int SEQ = 5;

    @Test
    void detachThenAttachRoundTrips(@TempDir Path dir) throws Exception {
        TinyModels.write(dir, 3);
        OnnxModel decoder = OnnxModel.read(dir.resolve("decoder.onnx"));
        int d = TinyModels.config().hiddenSize();
        int v = TinyModels.config().vocabSize();
        float[] logits = run(decoder, "logits");

        HeadSurgery.Detached detached = HeadSurgery.detach(decoder, "logits", "hidden_states");
        assertThat(detached.trunk().output("logits")).isEmpty();
        assertThat(detached.trunk().output("hidden_states")).isPresent();
        assertThat(detached.trunk().initializerNames()).doesNotContain("lm_head");
        assertThat(detached.head().shape()).isEqualTo(HeadShape.full(v, d));
        float[] hidden = run(detached.trunk(), "hidden_states");
        assertClose(matmulT(hidden, detached.head().weight(), SEQ, d, v), logits, 1e-5, "trunk hidden x head = logits");

        // a changed head written back into the original graph runs in plain ONNX Runtime
        float[] w = detached.head().weight();
        for (int i = 0; i < w.length; i++) {
            w[i] = w[i] * 0.5f + 0.01f * (i % 7);
        }
        HeadWeights trained = HeadWeights.full(detached.head().shape(), w);
        OnnxModel attached = HeadSurgery.attach(decoder, "logits", trained);
        attached.write(dir.resolve("trained.onnx"));
        float[] reloaded = run(OnnxModel.read(dir.resolve("trained.onnx")), "logits");
        assertClose(reloaded, matmulT(hidden, w, SEQ, d, v), 1e-5, "attached head");
        assertThat(HeadSurgery.detach(OnnxModel.read(dir.resolve("trained.onnx")), "logits", "h").head().weight())
                .isEqualTo(w);
    }

    @Test
    void aLoraHeadIsMergedOnAttach(@TempDir Path dir) throws Exception {
        TinyModels.write(dir, 4);
        OnnxModel decoder = OnnxModel.read(dir.resolve("decoder.onnx"));
        HeadWeights base = HeadSurgery.detach(decoder, "logits", "hidden_states").head();
        int v = base.shape().vocabSize();
        int d = base.shape().hiddenSize();
        Random rng = new Random(1);
        float[] a = new float[2 * d];
        float[] b = new float[v * 2];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rng.nextGaussian();
        }
        HeadWeights lora = HeadWeights.lora(HeadShape.lora(v, d, 2, 4.0), base.weight(), a, b);
        float[] merged = HeadSurgery.merged(lora);
        float expected = base.weight()[3 * d + 5] + 2f * (b[3 * 2] * a[5] + b[3 * 2 + 1] * a[d + 5]);
        assertThat(merged[3 * d + 5]).isCloseTo(expected, within(1e-5f));
        OnnxModel attached = HeadSurgery.attach(decoder, "logits", lora);
        assertThat(HeadSurgery.detach(attached, "logits", "h").head().weight()).isEqualTo(merged);
    }

    @Test
    void exposeHiddenKeepsTheHead(@TempDir Path dir) throws Exception {
        TinyModels.write(dir, 5);
        OnnxModel decoder = OnnxModel.read(dir.resolve("decoder.onnx"));
        OnnxModel both = HeadSurgery.exposeHidden(decoder, "logits", "hidden_states");
        assertThat(both.output("logits")).isPresent();
        assertThat(both.output("hidden_states").orElseThrow().shapeText()).isEqualTo("[batch, sequence, 32]");
        assertThat(run(both, "hidden_states")).isEqualTo(run(HeadSurgery.detach(decoder, "logits", "hidden_states").trunk(),
                "hidden_states"));
    }

    @Test
    void unsupportedGraphsAndFilesFailWithReasons(@TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder("relu_head");
        String x = g.input("x", TensorProto.DataType.FLOAT, 1L, 4L);
        g.output(g.identity(g.node("Relu", x), "logits"), TensorProto.DataType.FLOAT, 1L, 4L);
        OnnxModel relu = OnnxModel.of(g.build(), "relu.onnx");
        assertThatThrownBy(() -> HeadSurgery.locate(relu, "logits")).hasMessageContaining("Relu")
                .hasMessageContaining("expected MatMul");
        assertThatThrownBy(() -> HeadSurgery.locate(relu, "scores")).hasMessageContaining("no output named scores");

        Path junk = Files.writeString(dir.resolve("junk.onnx"), "definitely not protobuf \u0000\u0001");
        assertThatThrownBy(() -> OnnxModel.read(junk)).hasMessageContaining("junk.onnx");
        assertThatThrownBy(() -> OnnxModel.read(dir.resolve("missing.onnx"))).hasMessageContaining("not found");

        TinyModels.write(dir.resolve("m"), 6);
        OnnxModel decoder = OnnxModel.read(dir.resolve("m").resolve("decoder.onnx"));
        HeadWeights wrong = HeadWeights.full(HeadShape.full(10, 32), new float[320]);
        assertThatThrownBy(() -> HeadSurgery.attach(decoder, "logits", wrong)).hasMessageContaining("does not fit");
        assertThat(decoder.opsetVersion()).isEqualTo(GraphBuilder.OPSET);
        assertThat(decoder.inputs().stream().map(TensorInfo::name).toList()).contains("inputs_embeds",
                "past_key_values.0.key", "past_key_values.1.value");
    }

    /** Runs a tiny decoder graph on fixed embeddings with an empty cache; returns the named output. */
    static float[] run(OnnxModel model, String output) throws Exception {
        int d = TinyModels.config().hiddenSize();
        int h = TinyModels.config().heads();
        int hd = TinyModels.config().headDim();
        Random rng = new Random(11);
        FloatBuffer embeds = floats(SEQ * d);
        for (int i = 0; i < SEQ * d; i++) {
            embeds.put(i, (float) rng.nextGaussian());
        }
        LongBuffer mask = longs(SEQ);
        LongBuffer positions = longs(SEQ);
        for (int i = 0; i < SEQ; i++) {
            mask.put(i, 1);
            positions.put(i, i);
        }
        try (OrtSession s = ENV.createSession(model.toBytes(), new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put("inputs_embeds", OnnxTensor.createTensor(ENV, embeds, new long[] {1, SEQ, d}));
            in.put("attention_mask", OnnxTensor.createTensor(ENV, mask, new long[] {1, SEQ}));
            in.put("position_ids", OnnxTensor.createTensor(ENV, positions, new long[] {1, SEQ}));
            for (int i = 0; i < TinyModels.config().layers(); i++) {
                for (String kv : List.of("key", "value")) {
                    in.put("past_key_values." + i + "." + kv, OnnxTensor.createTensor(ENV, floats(0), new long[] {1, h, 0, hd}));
                }
            }
            try (OrtSession.Result r = s.run(in)) {
                FloatBuffer out = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
                float[] values = new float[out.remaining()];
                out.get(values);
                return values;
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    static float[] matmulT(float[] h, float[] w, int rows, int d, int v) {
        float[] out = new float[rows * v];
        for (int t = 0; t < rows; t++) {
            for (int j = 0; j < v; j++) {
                double s = 0;
                for (int k = 0; k < d; k++) {
                    s += (double) h[t * d + k] * w[j * d + k];
                }
                out[t * v + j] = (float) s;
            }
        }
        return out;
    }

    static void assertClose(float[] actual, float[] expected, double tolerance, String what) {
        assertThat(actual).as(what + " length").hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("%s [%d]", what, i).isCloseTo(expected[i], within(tolerance));
        }
    }

    private static FloatBuffer floats(int n) {
        return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static LongBuffer longs(int n) {
        return ByteBuffer.allocateDirect(8 * n).order(ByteOrder.nativeOrder()).asLongBuffer();
    }
}
