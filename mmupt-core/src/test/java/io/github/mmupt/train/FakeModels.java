package io.github.mmupt.train;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
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
import io.github.mmupt.rollout.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Test doubles for the loop without ONNX Runtime: a policy whose hidden state is a fixed function of the
 * position and token, and a sampler that draws digit answers from a seeded generator. Vocabulary: 0 is the
 * end of sequence, 1..10 are the digits 0..9.
 */
public final class FakeModels {

    public static final int D = 4;
    public static final int V = 11;

    private FakeModels() {
    }

    public static Policy policy(String modelId) {
        Tokenizer tokenizer = new Tokenizer() {
            @Override
            public int vocabSize() {
                return V;
            }

            @Override
            public ImmutableIntArray encode(String text) {
                ImmutableIntArray.Builder b = ImmutableIntArray.builder();
                for (char c : text.toCharArray()) {
                    if (Character.isDigit(c)) {
                        b.add(1 + c - '0');
                    }
                }
                return b.build();
            }

            @Override
            public String decode(ImmutableIntArray ids) {
                StringBuilder s = new StringBuilder();
                ids.forEach(id -> s.append(id == 0 ? "" : String.valueOf(id - 1)));
                return s.toString();
            }
        };
        return new Policy() {
            @Override
            public PolicySpec spec() {
                return new PolicySpec(modelId, D, V, ImmutableIntArray.of(0));
            }

            @Override
            public Tokenizer tokenizer() {
                return tokenizer;
            }

            @Override
            public HiddenStates responseHiddenStates(List<PromptResponse> sequences) {
                List<Float> values = new ArrayList<>();
                for (PromptResponse s : sequences) {
                    int seed = s.prompt().question().hashCode();
                    for (int t = 0; t < s.responseTokens().length(); t++) {
                        int previous = t == 0 ? seed : s.responseTokens().get(t - 1);
                        for (int j = 0; j < D; j++) {
                            values.add((float) Math.sin(0.7 * previous + 1.3 * j + 0.1 * t));
                        }
                    }
                }
                float[] v = new float[values.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = values.get(i);
                }
                return HiddenStates.of(v.length / D, D, v);
            }

            @Override
            public void close() {
            }
        };
    }

    /** Two-token responses (a digit, then end of sequence); the digit's answer is the digit itself. */
    public static RolloutSampler sampler() {
        return (prompts, params, seed) -> {
            List<RolloutGroup> groups = new ArrayList<>();
            for (int p = 0; p < prompts.size(); p++) {
                Prompt prompt = prompts.get(p);
                SplittableRandom rng = new SplittableRandom(seed * 31 + p);
                ImmutableList.Builder<Rollout> rollouts = ImmutableList.builder();
                for (int i = 0; i < params.responsesPerPrompt(); i++) {
                    int digit = rng.nextInt(3) == 0 ? rng.nextInt(10) : prompt.question().length() % 10;
                    rollouts.add(new Rollout(ImmutableIntArray.of(1 + digit, 0), ImmutableDoubleArray.of(), String.valueOf(digit),
                            Optional.of(String.valueOf(digit)), FinishReason.STOP));
                }
                groups.add(new RolloutGroup(prompt, rollouts.build()));
            }
            return groups;
        };
    }

    /** A reference head of the fake policy's shape, with a fixed start and learning rate 0.01. */
    public static io.github.mmupt.grpo.GrpoOptimizer optimizer() {
        double[] w = new double[V * D];
        for (int i = 0; i < w.length; i++) {
            w[i] = 0.1 * Math.cos(i);
        }
        return new io.github.mmupt.grpo.ReferenceGrpoOptimizer(io.github.mmupt.head.ReferenceHead.full(
                io.github.mmupt.head.HeadShape.full(V, D), w), io.github.mmupt.grpo.GrpoLossConfig.builder().temperature(1.0)
                .build(), io.github.mmupt.grpo.AdamWConfig.builder().learningRate(0.01).build());
    }

    public static SamplingParams sampling() {
        return SamplingParams.builder().responsesPerPrompt(6).temperature(1.0).topP(1.0).maxNewTokens(2).build();
    }
}
