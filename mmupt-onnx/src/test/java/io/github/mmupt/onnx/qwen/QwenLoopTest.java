package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MM-UPT on the generated Qwen2-VL model from a JSONL of PNG images: the head trains, a checkpointed run resumes
 * to exactly the weights of an uninterrupted one, and the exported model opens in plain ONNX Runtime from its
 * files (external data included) and computes the trained head's logits.
 */
class QwenLoopTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path jsonl;
    /** After stage-1 SFT on the gold responses: a random model answers nothing, so votes would carry no signal. */
    static HeadWeights sft;

    @BeforeAll
    static void setUp() throws Exception {
        model = dir.resolve("model");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 3, QwenTokenizerFiles.qwen2VlFile());
        jsonl = writeData(dir.resolve("data"), 4);
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            sft = run(policy, policy.initialHead(), 0.05, b -> b.mode(TrainingMode.SFT).steps(12)).finalHead();
        }
    }

    /** {@code count} PNGs of red squares and a JSONL asking how many there are. */
    static Path writeData(Path data, int count) throws Exception {
        Files.createDirectories(data.resolve("images"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            BufferedImage image = new BufferedImage(60, 60, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            g.setColor(Color.RED);
            for (int k = 0; k <= i % 3; k++) {
                g.fillRect(4 + 18 * k, 20, 12, 12);
            }
            g.dispose();
            ImageIO.write(image, "png", data.resolve("images/" + i + ".png").toFile());
            int squares = i % 3 + 1;
            lines.add("{\"id\": \"q" + i + "\", \"problem\": \"<image>How many red squares are there?\", "
                    + "\"images\": [\"images/" + i + ".png\"], \"answer\": \"" + squares + "\", "
                    + "\"response\": \"\\\\boxed{" + squares + "}\"}");
        }
        Path file = data.resolve("unlabeled.jsonl");
        Files.write(file, lines);
        return file;
    }

    private static RunResult run(OnnxPolicy policy, UnaryOperator<MmUpt.Builder> settings) throws Exception {
        return run(policy, sft, 0.01, settings);
    }

    private static RunResult run(OnnxPolicy policy, HeadWeights start, double lr, UnaryOperator<MmUpt.Builder> settings)
            throws Exception {
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(lr).weightDecay(0).build();
        try (GrpoOptimizer head = HeadOptimizers.create(start, loss, adamW, KernelOptions.defaults())) {
            return settings.apply(MmUpt.builder().policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed()))
                    .data(JsonlDataset.reader().read(jsonl))
                    .sampling(SamplingParams.builder().responsesPerPrompt(3).temperature(1.0).maxNewTokens(8).build())
                    .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build())
                    .promptsPerStep(2).seed(5)).build().run();
        }
    }

    /** The logits of one position with an empty cache, from a decoder file opened by ONNX Runtime. */
    private static float[] logits(Path decoder) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        QwenTinyConfig c = QwenTinyConfig.defaults();
        Map<String, OnnxTensor> in = new java.util.HashMap<>();
        try (OrtSession s = env.createSession(decoder.toString(), new OrtSession.SessionOptions())) {
            float[][][] embeds = new float[1][1][c.hiddenSize()];
            embeds[0][0][3] = 1f;
            in.put("inputs_embeds", OnnxTensor.createTensor(env, embeds));
            in.put("attention_mask", OnnxTensor.createTensor(env, new long[][] {{1}}));
            in.put("position_ids", OnnxTensor.createTensor(env, new long[][][] {{{0}}, {{0}}, {{0}}}));
            for (int i = 0; i < c.layers(); i++) {
                for (String kind : List.of("key", "value")) {
                    in.put("past_key_values." + i + "." + kind, OnnxTensor.createTensor(env, FloatBuffer.allocate(0),
                            new long[] {1, c.kvHeads(), 0, c.headDim()}));
                }
            }
            try (OrtSession.Result r = s.run(in)) {
                return ((float[][][]) r.get("logits").orElseThrow().getValue())[0][0];
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void trainsResumesBitIdenticallyAndExportsARunnableModel() throws Exception {
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            RunResult whole = run(policy, b -> b.steps(2));
            assertThat(whole.steps()).hasSize(2).allSatisfy(s -> assertThat(s.responses()).isEqualTo(6));
            assertThat(whole.steps().get(0).votes().answerRate()).as("answers after SFT").isPositive();
            HeadWeights trained = whole.finalHead();
            assertThat(trained).as("the votes moved the head").isNotEqualTo(sft);
            Path checkpoints = dir.resolve("checkpoints");
            run(policy, b -> b.steps(1).checkpoints(checkpoints, 1));
            RunResult resumed = run(policy, b -> b.steps(2).checkpoints(checkpoints, 1).resume(true));
            assertThat(resumed.steps()).hasSize(1);
            assertThat(resumed.finalHead()).isEqualTo(trained);

            Path exported = dir.resolve("exported");
            policy.exportModel(exported, trained);
            // plain ONNX Runtime, from the files (external data resolved by ONNX Runtime itself): the exported
            // decoder's logits are the trained head's, not the original's
            float[] before = logits(model.resolve("onnx/decoder_model_merged.onnx"));
            float[] after = logits(exported.resolve("onnx/decoder_model_merged.onnx"));
            assertThat(after).hasSize(QwenTinyConfig.QWEN_VOCAB).isNotEqualTo(before);
            for (float z : after) {
                assertThat(Float.isFinite(z)).isTrue();
            }
            try (OnnxPolicy reopened = OnnxPolicy.open(exported, PolicyOptions.defaults())) {
                assertThat(reopened.initialHead()).isEqualTo(trained);
            }
        }
    }
}
