package io.github.mmupt.onnx.grad;

import io.github.mmupt.onnx.grad.GradientCheck.Value;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole decoders differentiated: the tiny family's and the Qwen2-VL contract's trunks (head detached, as the
 * policy runs them), from the final hidden state back to the input embeddings and to projection weights of the
 * first and last layers, against central differences along random directions in float32 (the models' own
 * precision). The sequence starts with a padded position, which the loss ignores as training does.
 */
class DecoderGradientTest {


    @Test
    void tinyDecoderGradientsMatchFiniteDifferences(@TempDir Path dir) throws Exception {
        TinyModels.write(dir, 3);
        OnnxModel trunk = HeadSurgery.detach(OnnxModel.read(dir.resolve("decoder.onnx")), "logits", "hidden_states").trunk();
        double worst = checkWithWeights(trunk, List.of("layers.0.q", "layers.0.v", "layers.1.up", "layers.1.o", "norm.final"), 1);
        System.out.printf("tiny decoder: worst relative directional-derivative error %.2e%n", worst);
    }

    @Test
    void qwenContractDecoderGradientsMatchFiniteDifferences(@TempDir Path dir) throws Exception {
        QwenTinyBuilder.write(dir, QwenTinyConfig.defaults(), 7, QwenTokenizerFiles.qwen2VlFile());
        OnnxModel decoder = OnnxModel.read(dir.resolve("onnx").resolve("decoder_model_merged.onnx"));
        OnnxModel trunk = HeadSurgery.detach(decoder, "logits", "hidden_states").trunk();
        double worst = checkWithWeights(trunk, List.of("model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.k_proj.weight", "model.layers.1.mlp.gate_proj.weight",
                "model.layers.1.mlp.down_proj.weight"), 3);
        System.out.printf("qwen contract decoder: worst relative directional-derivative error %.2e%n", worst);
    }

    /** d loss / d inputs_embeds and d loss / d the given weights (made inputs, fed their own values). */
    private static double checkWithWeights(OnnxModel trunk, List<String> weights, int positionRows) throws Exception {
        Random random = new Random(17);
        Map<String, Value> inputs = new LinkedHashMap<>(TrunkGradients.standardInputs(trunk, positionRows, random));
        OnnxModel withWeightInputs = WeightInputs.promote(trunk, weights);
        for (String w : weights) {
            inputs.put(w, new Value(trunk.initializer(w).values(), trunk.initializer(w).dims()));
        }
        List<String> wrt = new ArrayList<>(weights);
        wrt.add(0, "inputs_embeds");
        long d = inputs.get("inputs_embeds").shape()[2];
        return TrunkGradients.check(withWeightInputs, inputs, wrt, d, random);
    }
}
