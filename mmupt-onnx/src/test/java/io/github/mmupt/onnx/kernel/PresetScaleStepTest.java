package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.ChildJvm;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PolicySpec;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.policy.Tokenizer;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * One training step with {@code mmUptPreset()}'s batch settings (512 prompts x 10 responses, mini-batches of 128
 * prompts, 64 sequences per micro-batch) on a model with d = 65,536, so that the step's hidden states (40,960
 * tokens x 65,536 = 2.7e9 floats, 10.7 GB) overflow one Java buffer, as they did when the trainer gathered them
 * per step. It runs in a child JVM capped at 512 MB of heap with the native kernel: the step can only finish if
 * hidden states live one micro-batch at a time, and the child reports its measured peak heap.
 */
class PresetScaleStepTest {

    static final int D = 65_536;
    static final int V = 16;
    static final int RESPONSE_TOKENS = 8;
    static final long HEAP_CAP = 512L << 20;

    @Test
    void aStepOfThePublishedSizeRunsInBoundedMemory() throws Exception {
        String last = ChildJvm.lastLine(ChildJvm.run(Child.class, (HEAP_CAP >> 20) + "m", 240, List.of()));
        long stepTokens = ChildJvm.value(last, "step_tokens");
        long largestRequest = ChildJvm.value(last, "largest_request_floats");
        long peakHeap = ChildJvm.value(last, "peak_heap_bytes");
        assertThat(stepTokens).isEqualTo(512L * 10 * RESPONSE_TOKENS);
        assertThat(stepTokens * D).as("the step's hidden states overflow one Java buffer").isGreaterThan(Integer.MAX_VALUE);
        assertThat(ChildJvm.value(last, "requested_tokens")).as("scored once, then recomputed for the one PPO pass")
                .isEqualTo(2 * stepTokens);
        assertThat(largestRequest).as("the trunk is asked for one micro-batch at a time").isEqualTo(64L * RESPONSE_TOKENS * D);
        assertThat(ChildJvm.value(last, "updates")).as("one update per mini-batch of 128 prompts").isEqualTo(4);
        assertThat(ChildJvm.value(last, "skipped")).isZero();
        System.out.println("preset-scale step: " + last + " (the documented bound: max(256 MiB cache, micro-batch "
                + 64L * RESPONSE_TOKENS * D * 4 + " bytes) of hidden states; heap cap " + HEAP_CAP + ")");
        assertThat(peakHeap).isLessThanOrEqualTo(HEAP_CAP);
    }

    /** The step, in a JVM whose heap is far smaller than the step's hidden states. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            WidePolicy policy = new WidePolicy();
            List<Example> examples = new ArrayList<>();
            for (int i = 0; i < 512; i++) {
                examples.add(Example.unlabeled(new Prompt("p" + i, List.of(), "question " + i)));
            }
            float[] w = new float[V * D];
            Random rng = new Random(5);
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (rng.nextGaussian() * 0.01);
            }
            ChildJvm.HeapPeak heap = new ChildJvm.HeapPeak();
            try (NativeGrpoOptimizer optimizer = new NativeGrpoOptimizer(HeadWeights.full(HeadShape.full(V, D), w),
                    GrpoLossConfig.mmUpt(), AdamWConfig.mmUpt(), KernelOptions.defaults())) {
                StepStats stats = MmUpt.builder().policy(policy).sampler(sampler()).optimizer(optimizer)
                        .data(Dataset.of("wide", examples)).mmUptPreset().steps(1).build().trainer().step();
                long peak = heap.stop();
                System.out.println("step_tokens=" + Math.round(stats.responses() * stats.meanResponseLength())
                        + " requested_tokens=" + policy.requested + " largest_request_floats=" + policy.largest
                        + " updates=" + stats.updates().size() + " skipped=" + stats.updates().stream()
                        .filter(u -> u.skipped()).count() + " peak_heap_bytes=" + peak);
            }
        }
    }

    /** Ten 8-token responses per prompt, six of them answering "1" and four "2". */
    static RolloutSampler sampler() {
        return (prompts, params, seed) -> {
            List<RolloutGroup> groups = new ArrayList<>();
            for (int p = 0; p < prompts.size(); p++) {
                ImmutableList.Builder<Rollout> rollouts = ImmutableList.builder();
                for (int b = 0; b < params.responsesPerPrompt(); b++) {
                    int[] ids = new int[RESPONSE_TOKENS];
                    for (int t = 0; t < ids.length; t++) {
                        ids[t] = 1 + (p * 7 + b * 3 + t) % (V - 1);
                    }
                    String answer = b < 6 ? "1" : "2";
                    rollouts.add(new Rollout(ImmutableIntArray.copyOf(ids), ImmutableDoubleArray.of(), answer,
                            Optional.of(answer), FinishReason.STOP));
                }
                groups.add(new RolloutGroup(prompts.get(p), rollouts.build()));
            }
            return groups;
        };
    }

    /** A trunk whose hidden state is a fixed row per previous token: cheap, but as wide as the test needs. */
    static final class WidePolicy implements Policy {
        final float[][] rows = new float[V][D];
        long requested;
        long largest;

        WidePolicy() {
            Random rng = new Random(7);
            for (float[] row : rows) {
                for (int j = 0; j < D; j++) {
                    row[j] = (float) rng.nextGaussian();
                }
            }
        }

        @Override
        public PolicySpec spec() {
            return new PolicySpec("wide", D, V, ImmutableIntArray.of(0));
        }

        @Override
        public Tokenizer tokenizer() {
            throw new UnsupportedOperationException("UPT never tokenizes");
        }

        @Override
        public HiddenStates responseHiddenStates(List<PromptResponse> sequences) {
            long n = sequences.stream().mapToLong(s -> s.responseTokens().length()).sum();
            largest = Math.max(largest, n * D);
            requested += n;
            FloatBuffer out = FloatBuffer.allocate(Math.toIntExact(n * D)); // fails as the per-step code did
            for (PromptResponse s : sequences) {
                for (int t = 0; t < s.responseTokens().length(); t++) {
                    out.put(rows[t == 0 ? 0 : s.responseTokens().get(t - 1)]);
                }
            }
            return new HiddenStates((int) n, D, out.flip());
        }

        @Override
        public void close() {
        }
    }
}
