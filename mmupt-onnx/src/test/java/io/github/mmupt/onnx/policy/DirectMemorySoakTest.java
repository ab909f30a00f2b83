package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A steady loop of sampling, scoring and training allocates no direct memory after its first steps: direct
 * buffers are freed only when a garbage collection happens to run, which a loop making little heap garbage
 * rarely triggers, so every fresh one per call grew the process (118 MB to 1.27 GB over 20,000 steps). The JVM's
 * own count of direct buffers and their bytes must stay exactly where they were after warm-up.
 */
class DirectMemorySoakTest {

    private static final double T = 0.8;

    @TempDir
    Path dir;

    private static BufferPoolMXBean directPool() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).findFirst().orElseThrow();
    }

    @Test
    void samplingScoringAndTrainingAllocateNoDirectMemoryOnceWarm() throws Exception {
        SamplingParams params = SamplingParams.builder().responsesPerPrompt(4).temperature(T).topP(1.0).maxNewTokens(8)
                .build();
        try (OnnxPolicy policy = OnnxPolicy.open(TinyModels.write(dir.resolve("m"), 3), PolicyOptions.defaults());
                NativeGrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(),
                        GrpoLossConfig.builder().temperature(T).build(), AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            List<Prompt> prompts = TinyModels.prompts(2);
            BufferPoolMXBean pool = directPool();
            long count = 0;
            long bytes = 0;
            for (int step = 0; step < 400; step++) {
                List<RolloutGroup> groups = sampler.sample(prompts, params, step);
                List<PromptResponse> sequences = new ArrayList<>();
                List<Integer> targets = new ArrayList<>();
                for (RolloutGroup g : groups) {
                    for (Rollout r : g.rollouts()) {
                        sequences.add(new PromptResponse(g.prompt(), r.tokenIds()));
                        r.tokenIds().forEach(targets::add);
                    }
                }
                HiddenStates hidden = policy.responseHiddenStates(sequences);
                head.score(hidden, ImmutableIntArray.copyOf(targets), HeadVersion.CURRENT);
                if (step == 20) {
                    count = pool.getCount();
                    bytes = pool.getMemoryUsed();
                } else if (step > 20) {
                    // longer responses than any seen may still grow a slot once; nothing else allocates
                    assertThat(pool.getCount()).as("direct buffers at step %d", step).isLessThanOrEqualTo(count + 2);
                }
            }
            assertThat(pool.getCount()).as("direct buffers after 380 more steps").isLessThanOrEqualTo(count + 2);
            assertThat(pool.getMemoryUsed()).as("direct bytes after 380 more steps").isLessThanOrEqualTo(2 * bytes);
        }
    }
}
