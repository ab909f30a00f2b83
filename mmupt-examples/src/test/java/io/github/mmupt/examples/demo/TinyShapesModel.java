package io.github.mmupt.examples.demo;

import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.TrainingMode;
import java.io.IOException;
import java.nio.file.Path;

/** The embedded default's model for loop tests: the designed trunk, and a head fine-tuned on 32 labels. */
final class TinyShapesModel {

    /** The loop tests' rollout and loss temperature. */
    static final double T = 0.7;
    /** Their loss: MM-UPT's KL at temperature {@link #T}. */
    static final GrpoLossConfig LOSS = GrpoLossConfig.builder().temperature(T).kl(KlPenalty.mmUpt()).build();
    /** Their second-stage AdamW. */
    static final AdamWConfig ADAM = AdamWConfig.builder().learningRate(0.003).weightDecay(0).build();
    /** Their rollouts: 4 responses of up to 12 tokens at {@link #T}. */
    static final SamplingParams SAMPLING = SamplingParams.builder().responsesPerPrompt(4).temperature(T).topP(1.0)
            .maxNewTokens(12).build();

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
