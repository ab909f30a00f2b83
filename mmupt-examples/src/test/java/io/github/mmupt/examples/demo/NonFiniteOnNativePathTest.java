package io.github.mmupt.examples.demo;

import static io.github.mmupt.examples.demo.TinyShapesModel.ADAM;
import static io.github.mmupt.examples.demo.TinyShapesModel.LOSS;
import static io.github.mmupt.examples.demo.TinyShapesModel.SAMPLING;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PolicySpec;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.policy.Tokenizer;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.train.RunResult;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's promise on the default path, the native kernel: a NaN/Inf in the trunk's hidden states or in the
 * logits costs the updates it touches (skipped and counted), never the run.
 */
class NonFiniteOnNativePathTest {

    @TempDir
    static Path dir;
    static OnnxPolicy policy;
    static HeadWeights base;
    static Dataset data;

    @BeforeAll
    static void model() throws Exception {
        policy = TinyShapesModel.open(dir.resolve("model"));
        base = TinyShapesModel.sftBase(policy, LOSS, 30);
        data = Dataset.of("unlabeled", ShapesTask.generate("unlabeled", 16, 12));
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    @Test
    void overflowingLogitsEndResponsesAsNonFiniteInsteadOfThrowing() {
        float[] w = base.weight();
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.copySign(3e38f, w[i]); // finite weights whose dot products overflow float32
        }
        HeadWeights huge = HeadWeights.full(base.shape(), w);
        try (GrpoOptimizer head = new NativeGrpoOptimizer(huge, LOSS, ADAM, KernelOptions.defaults())) {
            List<RolloutGroup> groups = new KvCacheSampler(policy, head, AnswerExtractor.boxed())
                    .sample(List.of(data.examples().get(0).prompt()), SAMPLING, 1);
            for (Rollout r : groups.get(0).rollouts()) {
                assertThat(r.finish()).isEqualTo(FinishReason.NON_FINITE);
                assertThat(r.logProbs().get(r.length() - 1)).isNaN();
            }
        }
    }

    @Test
    void nonFiniteHiddenStatesSkipTheUpdatesTheyTouchAndTheRunGoesOn() throws Exception {
        String poisoned = data.examples().get(3).prompt().id();
        Policy corrupting = new Policy() {
            @Override
            public PolicySpec spec() {
                return policy.spec();
            }

            @Override
            public Tokenizer tokenizer() {
                return policy.tokenizer();
            }

            @Override
            public HiddenStates responseHiddenStates(List<PromptResponse> sequences) {
                HiddenStates h = policy.responseHiddenStates(sequences);
                FloatBuffer copy = FloatBuffer.allocate(h.tokens() * h.hiddenSize());
                copy.put(h.values().duplicate()).flip();
                int row = 0;
                for (PromptResponse s : sequences) {
                    if (s.prompt().id().equals(poisoned)) {
                        copy.put(row * h.hiddenSize() + 1, Float.NaN);
                    }
                    row += s.responseTokens().length();
                }
                return new HiddenStates(h.tokens(), h.hiddenSize(), copy);
            }

            @Override
            public void close() {
            }
        };
        try (GrpoOptimizer head = new NativeGrpoOptimizer(base, LOSS, ADAM, KernelOptions.defaults())) {
            RunResult r = MmUpt.builder().policy(corrupting).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed())).data(data).sampling(SAMPLING)
                    .promptsPerStep(8).promptsPerMiniBatch(4).steps(4).seed(9).build().run();
            assertThat(r.steps()).hasSize(4);
            assertThat(r.skippedUpdates()).as("the mini-batches holding the poisoned prompt").isPositive();
            assertThat(r.steps().stream().mapToLong(s -> s.updates().size() - s.skippedUpdates()).sum())
                    .as("the others still train").isPositive();
            float[] trained = r.finalHead().weight();
            for (float x : trained) {
                assertThat(Float.isFinite(x)).isTrue();
            }
        }
    }
}
