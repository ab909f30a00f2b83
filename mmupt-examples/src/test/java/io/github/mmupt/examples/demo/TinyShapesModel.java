package io.github.mmupt.examples.demo;

import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tiny.VocabularyTokenizer;
import io.github.mmupt.train.TrainingMode;
import java.io.IOException;
import java.nio.file.Path;

/** The embedded default's model for loop tests: the designed trunk, and a head fine-tuned on 32 labels. */
final class TinyShapesModel {

    private TinyShapesModel() {
    }

    /** Writes the designed-trunk model into {@code dir} and opens it. */
    static OnnxPolicy open(Path dir) throws IOException {
        VocabularyTokenizer tokenizer = VocabularyTokenizer.of(ShapesTask.vocabulary());
        TinyVlmConfig config = DesignedTrunk.config(tokenizer.vocabSize());
        TinyVlmBuilder.write(dir, config, DesignedTrunk.weights(config, tokenizer, 5), tokenizer);
        return OnnxPolicy.open(dir, PolicyOptions.defaults());
    }

    /** The stage-1 SFT head: {@code steps} steps of SFT on 32 labeled examples, on the native kernel. */
    static HeadWeights sftBase(OnnxPolicy policy, GrpoLossConfig loss, int steps) throws IOException {
        try (GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), loss,
                AdamWConfig.builder().learningRate(0.01).weightDecay(0).build(), KernelOptions.defaults())) {
            MmUpt.builder().policy(policy).optimizer(head).mode(TrainingMode.SFT)
                    .data(Dataset.of("labeled", ShapesTask.generate("labeled", 32, 11))).promptsPerStep(16).steps(steps)
                    .seed(3).build().run();
            return head.weights();
        }
    }
}
