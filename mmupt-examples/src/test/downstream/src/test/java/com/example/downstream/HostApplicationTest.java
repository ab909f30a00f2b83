package com.example.downstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.DataErrorPolicy;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.KlEstimator;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.kernel.NativeLibrary;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tiny.TinyVlmWeights;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's host example on a generated tiny model, from the installed jars: a few MM-UPT steps with the
 * native kernel loaded from the mmupt-onnx jar, a checkpoint, and an exported model that opens again.
 */
class HostApplicationTest {

    @TempDir
    Path dir;

    @Test
    void aFewMmUptStepsOnAGeneratedModel() throws Exception {
        VocabularyTokenizer tokenizer = VocabularyTokenizer.of(List.of("how", "many", "red", "shapes", "are", "there",
                "?", "0", "1", "2", "3", "\\boxed{", "}"));
        TinyVlmConfig config = TinyVlmConfig.small(tokenizer.vocabSize());
        Path modelDir = dir.resolve("model");
        TinyVlmBuilder.write(modelDir, config, TinyVlmWeights.random(config, 7), tokenizer);

        Path data = dir.resolve("data");
        Files.createDirectories(data.resolve("images"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            BufferedImage image = new BufferedImage(40, 40, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            g.setColor(Color.RED);
            for (int k = 0; k <= i % 3; k++) {
                g.fillRect(4 + 12 * k, 10, 8, 8);
            }
            g.dispose();
            ImageIO.write(image, "png", data.resolve("images/" + i + ".png").toFile());
            lines.add("{\"id\": \"q" + i + "\", \"problem\": \"<image> how many red shapes are there ?\", "
                    + "\"images\": [\"images/" + i + ".png\"]}");
        }
        Path unlabeledJsonl = data.resolve("unlabeled.jsonl");
        Files.write(unlabeledJsonl, lines);

        Path runDir = dir.resolve("run");
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(0.7).kl(new KlPenalty(0.01, KlEstimator.K3, true))
                .build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(0.001).weightDecay(0).build();
        try (OnnxPolicy policy = OnnxPolicy.open(modelDir, PolicyOptions.defaults());
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, adamW, KernelOptions.defaults())) {
            assertThat(head).as("the native kernel, from the jar").isInstanceOf(NativeGrpoOptimizer.class);
            assertThat(NativeLibrary.packagedPlatforms()).contains("linux-x86_64");
            RunResult result = MmUpt.builder()
                    .policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed()))
                    .data(JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(unlabeledJsonl))
                    .sampling(SamplingParams.builder().responsesPerPrompt(4).temperature(0.7).topP(1.0)
                            .maxNewTokens(6).build())
                    .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build())
                    .steps(2).promptsPerStep(4).seed(1)
                    .listener(new MetricsFile(runDir.resolve("metrics.jsonl")))
                    .checkpoints(runDir.resolve("checkpoints"), 1)
                    .build().run();
            assertThat(result.steps()).hasSize(2);
            assertThat(result.steps()).allSatisfy(s -> assertThat(s.responses()).isEqualTo(16));
            policy.exportModel(runDir.resolve("model"), result.finalHead());
        }
        assertThat(runDir.resolve("checkpoints/step-00000002/head.safetensors")).exists();
        assertThat(Files.readAllLines(runDir.resolve("metrics.jsonl"))).hasSize(2);
        try (OnnxPolicy exported = OnnxPolicy.open(runDir.resolve("model"), PolicyOptions.defaults())) {
            assertThat(exported.spec().vocabSize()).isEqualTo(tokenizer.vocabSize());
        }
    }
}
