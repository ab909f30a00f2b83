package io.github.mmupt.onnx.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.onnx.grad.GradientCheck;
import io.github.mmupt.onnx.grad.GradientGraph;
import io.github.mmupt.onnx.grad.GradientCheck.Value;
import io.github.mmupt.onnx.grad.TrunkGradients;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter rewrite on both decoder families: which projections it finds, that zero adapters give the base
 * trunk's hidden states bit for bit, that non-zero adapters equal the merged weight W + (alpha / r) A^T B^T, and
 * that the gradient graph of the rewritten trunk gives every adapter's gradient (finite differences).
 */
class LoraGraphTest {

    private static OnnxModel tinyTrunk(Path dir) throws Exception {
        TinyModels.write(dir, 3);
        return HeadSurgery.detach(OnnxModel.read(dir.resolve("decoder.onnx")), "logits", "hidden_states").trunk();
    }

    private static OnnxModel qwenTrunk(Path dir) throws Exception {
        QwenTinyBuilder.write(dir, QwenTinyConfig.defaults(), 7, QwenTokenizerFiles.qwen2VlFile());
        OnnxModel decoder = OnnxModel.read(dir.resolve("onnx").resolve("decoder_model_merged.onnx"));
        return HeadSurgery.detach(decoder, "logits", "hidden_states").trunk();
    }

    @Test
    void findsEveryProjectionOfEveryLayerOrTheChosenOnes(@TempDir Path dir) throws Exception {
        OnnxModel qwen = qwenTrunk(dir.resolve("q"));
        LoraGraph all = LoraGraph.rewrite(qwen, LoraSettings.builder().build());
        int layers = QwenTinyConfig.defaults().layers();
        assertThat(all.targets()).hasSize(7 * layers);
        assertThat(all.targets().get(0).module()).isEqualTo("model.layers.0.self_attn.q_proj");
        assertThat(all.targets().get(0).aInput()).isEqualTo("model.layers.0.self_attn.q_proj.lora_A.weight");
        assertThat(all.targets().stream().map(LoraTarget::projection).collect(Collectors.toSet()))
                .containsExactlyInAnyOrderElementsOf(LoraSettings.ALL_PROJECTIONS);
        LoraGraph some = LoraGraph.rewrite(qwen, LoraSettings.builder().rank(4).layers(1, 1).projections("q", "v").build());
        assertThat(some.targets()).extracting(LoraTarget::module)
                .containsExactly("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj");
        assertThat(some.model().inputs()).filteredOn(i -> i.name().contains("lora_")).hasSize(4);

        OnnxModel tiny = tinyTrunk(dir.resolve("t"));
        LoraGraph tinyAll = LoraGraph.rewrite(tiny, LoraSettings.builder().build());
        // the tiny family's MLP has no gate
        assertThat(tinyAll.targets()).hasSize(6 * TinyModels.config().layers());
        assertThatThrownBy(() -> LoraGraph.rewrite(tiny, LoraSettings.builder().projections("gate").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[gate]")
                .hasMessageContaining("[down, k, o, q, up, v]");
        assertThatThrownBy(() -> LoraSettings.builder().rank(0).build()).hasMessageContaining("rank must be at least 1");

        io.github.mmupt.onnx.model.GraphBuilder g = new io.github.mmupt.onnx.model.GraphBuilder("tied");
        g.input("x", ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT, 1L, 4L);
        String w = g.initializer("layers.0.q", new long[] {4, 4}, new float[16]);
        g.output(g.identity(g.node("Add", g.node("MatMul", "x", w), g.node("MatMul", "x", w)), "y"),
                ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT, 1L, 4L);
        OnnxModel tied = OnnxModel.of(g.build(), "tied");
        assertThatThrownBy(() -> LoraGraph.rewrite(tied, LoraSettings.builder().build()))
                .hasMessageContaining("layers.0.q").hasMessageContaining("more than one MatMul");
    }

    @Test
    void zeroAdaptersAreTheBaseModelAndNonZeroOnesTheMergedWeight(@TempDir Path dir) throws Exception {
        OnnxModel trunk = tinyTrunk(dir);
        LoraSettings settings = LoraSettings.builder().rank(2).alpha(4).build();
        LoraGraph lora = LoraGraph.rewrite(trunk, settings);
        Random random = new Random(3);
        Map<String, Value> inputs = TrunkGradients.standardInputs(trunk, 1, random);
        Map<String, Value> zero = new HashMap<>(inputs);
        Map<String, Value> nonZero = new HashMap<>(inputs);
        Map<String, float[]> merged = new HashMap<>();
        for (LoraTarget t : lora.targets()) {
            Value a = TrunkGradients.gaussian(random, new long[] {settings.rank(), t.inFeatures()}, 0.3);
            Value b = TrunkGradients.gaussian(random, new long[] {t.outFeatures(), settings.rank()}, 0.3);
            zero.put(t.aInput(), a);
            zero.put(t.bInput(), new Value(new float[t.outFeatures() * settings.rank()], b.shape()));
            nonZero.put(t.aInput(), a);
            nonZero.put(t.bInput(), b);
            float[] w = trunk.initializer(t.weight()).values().clone();
            for (int i = 0; i < t.inFeatures(); i++) {
                for (int o = 0; o < t.outFeatures(); o++) {
                    double delta = 0;
                    for (int k = 0; k < settings.rank(); k++) {
                        delta += ((float[]) a.data())[k * t.inFeatures() + i] * ((float[]) b.data())[o * settings.rank() + k];
                    }
                    w[i * t.outFeatures() + o] += (float) (settings.scale() * delta);
                }
            }
            merged.put(t.weight(), w);
        }
        float[] base = hidden(trunk, inputs);
        assertThat(hidden(lora.model(), zero)).as("B = 0: the base model, bit for bit").isEqualTo(base);
        OnnxModel mergedModel = trunk.with(trunk.proto().toBuilder().setGraph(trunk.graph().toBuilder().clearInitializer()
                .addAllInitializer(trunk.graph().getInitializerList().stream()
                        .map(t -> merged.containsKey(t.getName()) ? floats(t, merged.get(t.getName())) : t).toList()))
                .build());
        float[] viaAdapters = hidden(lora.model(), nonZero);
        float[] viaMerged = hidden(mergedModel, inputs);
        double worst = 0;
        for (int i = 0; i < viaMerged.length; i++) {
            worst = Math.max(worst, Math.abs(viaAdapters[i] - viaMerged[i]) / (1 + Math.abs(viaMerged[i])));
        }
        assertThat(worst).as("adapters vs merged weights").isLessThan(1e-5);
        assertThat(viaAdapters).as("non-zero adapters change the model").isNotEqualTo(base);
    }

    @Test
    void adapterGradientsMatchFiniteDifferencesOnBothFamilies(@TempDir Path dir) throws Exception {
        OnnxModel tinyTrunk = tinyTrunk(dir.resolve("t"));
        OnnxModel qwenTrunk = qwenTrunk(dir.resolve("q"));
        double tiny = checkAdapters(tinyTrunk, 1);
        double qwen = checkAdapters(qwenTrunk, 3);
        // as the policy builds its gradient graph: past caches declared empty, every broadcast decided when built
        double tinyNoCache = checkAdapters(withoutCache(tinyTrunk), 1);
        double qwenNoCache = checkAdapters(withoutCache(qwenTrunk), 3);
        System.out.printf("adapter gradients: worst relative directional-derivative error tiny %.2e, qwen contract %.2e; "
                + "without a cache %.2e, %.2e%n", tiny, qwen, tinyNoCache, qwenNoCache);
    }

    @Test
    void withoutACacheTheGradientGraphDecidesEveryBroadcastWhenBuilt(@TempDir Path dir) throws Exception {
        for (OnnxModel trunk : List.of(tinyTrunk(dir.resolve("t")), qwenTrunk(dir.resolve("q")))) {
            LoraGraph lora = LoraGraph.rewrite(withoutCache(trunk), LoraSettings.builder().rank(1).alpha(32).build());
            List<String> adapters = new ArrayList<>();
            lora.targets().forEach(t -> {
                adapters.add(t.aInput());
                adapters.add(t.bInput());
            });
            List<String> ops = GradientGraph.build(lora.model(), List.of("hidden_states"), adapters).model().graph()
                    .getNodeList().stream().filter(n -> n.getName().startsWith(GradientGraph.PREFIX))
                    .map(n -> n.getOpType()).toList();
            assertThat(ops).as(trunk.source()).doesNotContain("NonZero", "ScatterElements");
        }
    }

    private static OnnxModel withoutCache(OnnxModel trunk) throws Exception {
        List<String> past = trunk.inputs().stream().map(i -> i.name()).filter(n -> n.startsWith("past_key_values")).toList();
        assertThat(past).isNotEmpty();
        return trunk.withInputDimension(past, 2, 0);
    }

    private static double checkAdapters(OnnxModel trunk, int positionRows) throws Exception {
        LoraSettings settings = LoraSettings.builder().rank(2).alpha(4).build();
        LoraGraph lora = LoraGraph.rewrite(trunk, settings);
        Random random = new Random(23);
        Map<String, Value> inputs = new LinkedHashMap<>(TrunkGradients.standardInputs(trunk, positionRows, random));
        List<String> wrt = new ArrayList<>();
        for (LoraTarget t : lora.targets()) {
            // B non-zero too, so that A's gradient is not identically zero
            inputs.put(t.aInput(), TrunkGradients.gaussian(random, new long[] {settings.rank(), t.inFeatures()}, 0.2));
            inputs.put(t.bInput(), TrunkGradients.gaussian(random, new long[] {t.outFeatures(), settings.rank()}, 0.05));
            wrt.add(t.aInput());
            wrt.add(t.bInput());
        }
        long d = inputs.get("inputs_embeds").shape()[2];
        // a step of 3e-3 of the largest entry: with B small, A's steps barely move the ReLU inputs, and float32
        // round-off in the loss dominated at 1e-3 (worst 1.1e-3 there, 5.5e-4 here)
        return TrunkGradients.check(lora.model(), inputs, wrt, d, random, 3e-3);
    }

    private static ai.onnx.proto.OnnxMl.TensorProto floats(ai.onnx.proto.OnnxMl.TensorProto t, float[] values) {
        ai.onnx.proto.OnnxMl.TensorProto.Builder b = t.toBuilder().clearRawData().clearFloatData();
        for (float v : values) {
            b.addFloatData(v);
        }
        return b.build();
    }

    private static float[] hidden(OnnxModel model, Map<String, Value> inputs) throws Exception {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        try (OrtSession s = GradientCheck.ENV.createSession(model.toBytes(), options)) {
            Map<String, OnnxTensor> feeds = new HashMap<>();
            for (Map.Entry<String, Value> e : inputs.entrySet()) {
                Value v = e.getValue();
                feeds.put(e.getKey(), v.data() instanceof float[] f
                        ? OnnxTensor.createTensor(GradientCheck.ENV, FloatBuffer.wrap(f), v.shape())
                        : OnnxTensor.createTensor(GradientCheck.ENV, LongBuffer.wrap((long[]) v.data()), v.shape()));
            }
            try (OrtSession.Result r = s.run(feeds)) {
                FloatBuffer b = ((OnnxTensor) r.get("hidden_states").orElseThrow()).getFloatBuffer();
                float[] out = new float[b.remaining()];
                b.get(out);
                return out;
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
    }
}
