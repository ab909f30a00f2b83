package io.github.mmupt.examples.demo;

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
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.ProgressLog;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What a host application writes to let its model improve itself on unlabeled data: the README's example,
 * which the embedded default runs for its MM-UPT row.
 */
public final class HostApplication {

    private HostApplication() {
    }

    /**
     * Improves the model in {@code modelDir} on the unlabeled prompts of {@code unlabeledJsonl}; writes metrics,
     * checkpoints and the improved model under {@code runDir}.
     */
    public static RunResult improve(Path modelDir, Path unlabeledJsonl, Path runDir, Settings s) throws IOException {
        // readme-host-example:start
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(s.temperature())
                .kl(new KlPenalty(s.klBeta(), KlEstimator.K3, true)).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(s.learningRate()).weightDecay(0).build();
        try (OnnxPolicy policy = OnnxPolicy.open(modelDir, PolicyOptions.defaults());
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, adamW, KernelOptions.defaults())) {
            RunResult result = MmUpt.builder()
                    .policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed()))
                    .data(JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(unlabeledJsonl))
                    .sampling(SamplingParams.builder().responsesPerPrompt(s.responses()).temperature(s.temperature())
                            .topP(1.0).maxNewTokens(s.maxNewTokens()).build())
                    .labeler(MajorityVoteLabeler.builder().minAgreement(s.minAgreement()).build())
                    .steps(s.steps()).promptsPerStep(s.promptsPerStep()).seed(s.seed())
                    .listener(new MetricsFile(runDir.resolve("metrics.jsonl"))).listener(new ProgressLog("mm-upt"))
                    .checkpoints(runDir.resolve("checkpoints"), 20)
                    .build().run();
            policy.exportModel(runDir.resolve("model"), result.finalHead());
            return result;
        }
        // readme-host-example:end
    }

    /** The knobs the example exposes. */
    public record Settings(double temperature, double learningRate, double klBeta, int responses, int maxNewTokens,
            double minAgreement, long steps, int promptsPerStep, long seed) {

        public Settings withPromptsPerStep(int n) {
            return new Settings(temperature, learningRate, klBeta, responses, maxNewTokens, minAgreement, steps, n, seed);
        }
    }
}
