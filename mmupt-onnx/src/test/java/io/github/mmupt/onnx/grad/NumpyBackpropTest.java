package io.github.mmupt.onnx.grad;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.onnx.grad.GradientCheck.Value;
import io.github.mmupt.onnx.lora.LoraGraph;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.lora.LoraTarget;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tiny.TinyVlmWeights;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapters' gradients of the tiny family's decoder against an independent implementation: a NumPy float64
 * forward and hand-written backward ({@code golden/lora_backprop.py}, its output committed beside it as
 * {@code lora_backprop.json}, itself checked against central differences to 1e-8 when it was written). The Java
 * side builds the decoder with TinyVlmBuilder from the script's weights, rewrites it for LoRA, derives the
 * gradient graph and runs both in ONNX Runtime (float32).
 */
class NumpyBackpropTest {

    @TempDir
    Path dir;

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    @Test
    void adapterGradientsMatchAnIndependentNumpyBackpropagation() throws Exception {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/lora_backprop.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        JsonNode c = golden.get("config");
        int d = c.get("hiddenSize").asInt();
        int t = c.get("sequence").asInt();
        TinyVlmConfig config = new TinyVlmConfig(TinyModels.tokenizer().vocabSize(), d, c.get("layers").asInt(),
                c.get("heads").asInt(), c.get("mlpSize").asInt(), c.get("maxPositions").asInt(), 8, 4);
        TinyVlmWeights weights = TinyVlmWeights.random(config, 1); // vision, embeddings, head: not on the checked path
        for (Iterator<Map.Entry<String, JsonNode>> it = golden.get("weights").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            weights = weights.with(e.getKey(), floats(e.getValue()));
        }
        TinyVlmBuilder.write(dir, config, weights, TinyModels.tokenizer());
        OnnxModel trunk = HeadSurgery.detach(OnnxModel.read(dir.resolve("decoder.onnx")), "logits", "hidden_states")
                .trunk();
        int rank = c.get("rank").asInt();
        LoraGraph lora = LoraGraph.rewrite(trunk, LoraSettings.builder().rank(rank).alpha(c.get("alpha").asDouble())
                .build());

        Map<String, Value> inputs = new LinkedHashMap<>();
        inputs.put("inputs_embeds", new Value(floats(golden.get("inputs_embeds")), new long[] {1, t, d}));
        long[] mask = new long[t];
        long[] positions = new long[t];
        for (int i = 0; i < t; i++) {
            mask[i] = golden.get("attention_mask").get(i).asLong();
            positions[i] = golden.get("position_ids").get(i).asLong();
        }
        inputs.put("attention_mask", new Value(mask, new long[] {1, t}));
        inputs.put("position_ids", new Value(positions, new long[] {1, t}));
        for (int i = 0; i < config.layers(); i++) {
            for (String kind : List.of("key", "value")) {
                inputs.put("past_key_values." + i + "." + kind, new Value(new float[0],
                        new long[] {1, config.heads(), 0, config.headDim()}));
            }
        }
        List<String> wrt = new ArrayList<>();
        for (LoraTarget target : lora.targets()) {
            for (String name : List.of(target.aInput(), target.bInput())) {
                JsonNode values = golden.get("adapters").get(name);
                assertThat(values).as("the NumPy script names adapter %s", name).isNotNull();
                long[] shape = name.equals(target.aInput()) ? new long[] {rank, target.inFeatures()}
                        : new long[] {target.outFeatures(), rank};
                inputs.put(name, new Value(floats(values), shape));
                wrt.add(name);
            }
        }
        assertThat(wrt).hasSize(golden.get("gradients").size());
        Value seed = new Value(floats(golden.get("seed")), new long[] {1, t, d});
        try (GradientCheck check = new GradientCheck(lora.model(), List.of("hidden_states"), wrt,
                Map.of("hidden_states", seed))) {
            // the forward first: sum(seed * hidden) of ONNX Runtime against NumPy's
            double expectedLoss = 0;
            float[] s = floats(golden.get("seed"));
            for (int i = 0; i < s.length; i++) {
                expectedLoss += s[i] * golden.get("hidden_states").get(i).asDouble();
            }
            assertThat(check.loss(inputs)).isCloseTo(expectedLoss, org.assertj.core.api.Assertions.within(
                    1e-5 * Math.max(1, Math.abs(expectedLoss))));
            Map<String, double[]> grads = check.gradients(inputs);
            double worst = 0;
            for (String name : wrt) {
                JsonNode expected = golden.get("gradients").get(name);
                double[] got = grads.get(name);
                assertThat(got).as(name).hasSize(expected.size());
                double diff = 0;
                double norm = 0;
                for (int i = 0; i < got.length; i++) {
                    double e = expected.get(i).asDouble();
                    diff += (got[i] - e) * (got[i] - e);
                    norm += e * e;
                }
                double rel = Math.sqrt(diff / Math.max(norm, 1e-30));
                worst = Math.max(worst, rel);
                assertThat(rel).as("%s: |ONNX - NumPy| / |NumPy|", name).isLessThan(1e-4);
            }
            System.out.printf("adapter gradients vs NumPy backprop: worst relative error %.2e over %d tensors%n", worst,
                    wrt.size());
        }
    }
}
