package io.github.mmupt.examples.demo;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.StepPhase;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A few MM-UPT steps on a generated Qwen2-VL model in the onnx-community contract, opened exactly as a user's
 * download is ({@code OnnxPolicy.open(dir)} on {@code config.json}): the model directory, a JSONL of PNG images
 * of red squares, a short stage-1 SFT on a few gold responses (a random model answers nothing, so votes would
 * carry no signal), then MM-UPT steps with no labels, a checkpoint per step, and the exported model.
 *
 * <p>Arguments: {@code --tokenizer FILE} (a Qwen {@code tokenizer.json}), {@code --out DIR}, {@code --steps N}
 * (default 3). Last line: {@code family=qwen2_vl steps=N answer_rate=<a> tokens_per_second=<t>}, the answer rate
 * of the last step and the sampling throughput over the MM-UPT steps.
 */
public final class QwenTinyRun {

    private QwenTinyRun() {
    }

    public static void main(String[] args) throws Exception {
        Path tokenizer = null;
        Path out = Path.of("target/qwen-demo");
        int steps = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tokenizer" -> tokenizer = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --tokenizer FILE, --out DIR, --steps N)");
            }
        }
        if (tokenizer == null) {
            throw new IllegalArgumentException("--tokenizer FILE is required: a Qwen tokenizer.json");
        }
        Path model = out.resolve("model");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 1, tokenizer);
        Path data = SquaresData.write(out.resolve("data"), 8);
        AnswerExtractor extractor = AnswerExtractor.boxed();
        SamplingParams sampling = SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).maxNewTokens(8)
                .build();
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).build();
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            System.out.printf(Locale.ROOT, "opened %s: family %s, d=%d, V=%d, %s%n", model, policy.family().name(),
                    policy.spec().hiddenSize(), policy.spec().vocabSize(), policy.executionProvider());
            HeadWeights sft;
            try (GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss,
                    AdamWConfig.builder().learningRate(0.05).weightDecay(0).build(), KernelOptions.defaults())) {
                sft = MmUpt.builder().policy(policy).optimizer(head).sampler(new KvCacheSampler(policy, head, extractor))
                        .data(JsonlDataset.reader().read(data)).mode(TrainingMode.SFT).steps(12).promptsPerStep(4)
                        .sampling(sampling).seed(1).build().run().finalHead();
            }
            RunResult upt;
            try (GrpoOptimizer head = HeadOptimizers.create(sft, loss,
                    AdamWConfig.builder().learningRate(0.01).weightDecay(0).build(), KernelOptions.defaults())) {
                upt = MmUpt.builder().policy(policy).optimizer(head).sampler(new KvCacheSampler(policy, head, extractor))
                        .data(JsonlDataset.reader().read(data)).steps(steps).promptsPerStep(4).sampling(sampling)
                        .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build()).seed(2)
                        .listener(new MetricsFile(out.resolve("metrics.jsonl")))
                        .checkpoints(out.resolve("checkpoints"), 1).build().run();
            }
            policy.exportModel(out.resolve("exported"), upt.finalHead());
            double tokens = 0;
            double seconds = 0;
            for (StepStats s : upt.steps()) {
                tokens += s.responses() * s.meanResponseLength();
                seconds += s.phaseTimes().get(StepPhase.ROLLOUT).toNanos() / 1e9;
                System.out.printf(Locale.ROOT, "step %d: reward %.3f, answer rate %.3f, vote share %.3f%n", s.step(),
                        s.rewardMean(), s.votes().answerRate(), s.votes().meanVoteShare());
            }
            System.out.printf(Locale.ROOT, "exported the trained model to %s%n", out.resolve("exported"));
            System.out.printf(Locale.ROOT, "family=%s steps=%d answer_rate=%.3f tokens_per_second=%.1f%n",
                    policy.family().name(), upt.steps().size(),
                    upt.steps().get(upt.steps().size() - 1).votes().answerRate(), tokens / seconds);
        }
    }
}
