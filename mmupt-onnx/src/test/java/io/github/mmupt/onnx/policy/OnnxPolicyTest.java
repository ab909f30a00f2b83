package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.family.ImageSlot;
import io.github.mmupt.onnx.family.PromptPositions;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.tiny.ModelManifest;
import io.github.mmupt.onnx.tiny.TinyFamily;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxPolicyTest {

    private static final double TEMPERATURE = 0.8;
    private static final GrpoLossConfig LOSS = GrpoLossConfig.builder().temperature(TEMPERATURE).build();

    @TempDir
    Path dir;

    private OnnxPolicy open(long seed) throws Exception {
        return OnnxPolicy.open(TinyModels.write(dir.resolve("m" + seed), seed), PolicyOptions.defaults());
    }

    private static SamplingParams params(int n, int maxNew) {
        return SamplingParams.builder().responsesPerPrompt(n).temperature(TEMPERATURE).topP(0.95).maxNewTokens(maxNew).build();
    }

    @Test
    void kvCacheDecodingEqualsFullRecomputation() throws Exception {
        try (OnnxPolicy policy = open(1)) {
            int d = policy.spec().hiddenSize();
            EncodedPrompt prompt = policy.encode(TinyModels.prompt("kv"));
            TrunkSessions sessions = policy.sessions();
            int p = prompt.ids().length();
            ImmutableIntArray response = ImmutableIntArray.of(20, 7, 31, 9, 12, 2, 15, 17);
            int k = response.length();
            // full recomputation: the response's hidden states in one pass
            HiddenStates full = policy.responseHiddenStates(List.of(new PromptResponse(TinyModels.prompt("kv"), response)));
            // with the cache: prefill, then one token per step
            FloatBuffer hidden = OnnxPolicy.directFloats((long) p * d);
            ScratchBuffers scratch = new ScratchBuffers();
            float[] cached = new float[k * d];
            KvCache cache;
            try (KvCache empty = KvCache.empty(sessions, 1)) {
                cache = KvCache.of(sessions, sessions.runDecoder(sessions.promptEmbeddings(prompt), 1, p,
                        OnnxPolicy.ones(scratch, "m", p), PositionIds.sequence(scratch, "p", prompt.positions(), p), 1,
                        empty, hidden), p, 1);
            }
            for (int j = 0; j < d; j++) {
                cached[j] = hidden.get((p - 1) * d + j);
            }
            FloatBuffer step = OnnxPolicy.directFloats(d);
            for (int t = 0; t < k - 1; t++) {
                int length = p + t + 1;
                FloatBuffer embeds = sessions.tokenEmbeddings(ImmutableIntArray.of(response.get(t)), 1, 1, "e");
                KvCache next = KvCache.of(sessions, sessions.runDecoder(embeds, 1, 1, OnnxPolicy.ones(scratch, "m", length),
                        PositionIds.step(scratch, "p", prompt.positions(), length - 1, 1), 1, cache, step), length, 1);
                cache.close();
                cache = next;
                for (int j = 0; j < d; j++) {
                    cached[(t + 1) * d + j] = step.get(j);
                }
            }
            cache.close();
            float[] fullRows = new float[k * d];
            full.values().get(fullRows);
            float[] head = policy.initialHead().weight();
            int v = policy.spec().vocabSize();
            for (int t = 0; t < k; t++) {
                for (int j = 0; j < d; j++) {
                    assertThat((double) cached[t * d + j]).as("hidden[%d][%d]", t, j)
                            .isCloseTo(fullRows[t * d + j], within(1e-5));
                }
                for (int o = 0; o < v; o++) {
                    double a = 0;
                    double b = 0;
                    for (int j = 0; j < d; j++) {
                        a += cached[t * d + j] * head[o * d + j];
                        b += fullRows[t * d + j] * head[o * d + j];
                    }
                    assertThat(a).as("logit[%d][%d]", t, o).isCloseTo(b, within(1e-5));
                }
            }
        }
    }

    @Test
    void sampledLogProbsEqualScoredLogProbs() throws Exception {
        try (OnnxPolicy policy = open(2);
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            List<RolloutGroup> groups = sampler.sample(TinyModels.prompts(2), params(4, 12), 99);
            assertThat(groups).hasSize(2);
            for (RolloutGroup g : groups) {
                assertThat(g.rollouts()).hasSize(4);
                for (Rollout r : g.rollouts()) {
                    HiddenStates h = policy.responseHiddenStates(List.of(new PromptResponse(g.prompt(), r.tokenIds())));
                    TokenScores scored = head.score(h, r.tokenIds(), HeadVersion.CURRENT);
                    for (int t = 0; t < r.length(); t++) {
                        assertThat(scored.logProbs().get(t)).as("%s token %d", g.prompt().id(), t)
                                .isCloseTo(r.logProbs().get(t), within(1e-5));
                    }
                    assertThat(r.text()).isEqualTo(policy.tokenizer().decode(r.tokenIds()));
                }
            }
        }
    }

    /** Evaluation needs no optimizer: a frozen scorer of the same head samples exactly what the trainer does. */
    @Test
    void aFrozenScorerEvaluatesLikeTheOptimizerOfTheSameHead() throws Exception {
        try (OnnxPolicy policy = open(4);
                GrpoOptimizer trainer = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults());
                HeadScorer frozen = HeadOptimizers.scorer(policy.initialHead(), TEMPERATURE, KernelOptions.defaults())) {
            SamplingParams eval = SamplingParams.builder().responsesPerPrompt(3).temperature(0.2).maxNewTokens(10).build();
            List<RolloutGroup> a = KvCacheSampler.forEvaluation(policy, trainer, AnswerExtractor.boxed())
                    .sample(TinyModels.prompts(2), eval, 13);
            List<RolloutGroup> b = KvCacheSampler.forEvaluation(policy, frozen, AnswerExtractor.boxed())
                    .sample(TinyModels.prompts(2), eval, 13);
            assertThat(b).isEqualTo(a);
            // and as a training sampler, the recorded log-probs are the trainer's, bit for bit
            List<RolloutGroup> c = new KvCacheSampler(policy, trainer, AnswerExtractor.boxed())
                    .sample(TinyModels.prompts(1), params(3, 8), 3);
            List<RolloutGroup> d = new KvCacheSampler(policy, frozen, AnswerExtractor.boxed())
                    .sample(TinyModels.prompts(1), params(3, 8), 3);
            assertThat(d).isEqualTo(c);
        }
    }

    @Test
    void samplingIsDeterministicUnderASeed() throws Exception {
        try (OnnxPolicy policy = open(3);
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            List<RolloutGroup> a = sampler.sample(TinyModels.prompts(2), params(3, 10), 5);
            List<RolloutGroup> b = sampler.sample(TinyModels.prompts(2), params(3, 10), 5);
            List<RolloutGroup> c = sampler.sample(TinyModels.prompts(2), params(3, 10), 6);
            assertThat(a).isEqualTo(b);
            assertThat(a).isNotEqualTo(c);
            // a prompt's responses do not depend on what else is in the batch
            List<RolloutGroup> alone = sampler.sample(List.of(TinyModels.prompt("p0")), params(3, 10), 5);
            assertThat(alone.get(0)).isEqualTo(a.get(0));
        }
    }

    @Test
    void minNewTokensHoldsTheStopTokenBackAndCachedLogProbsMatchAFullPass() throws Exception {
        try (OnnxPolicy policy = open(8);
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            SamplingParams fixed = SamplingParams.builder().responsesPerPrompt(3).temperature(TEMPERATURE).maxNewTokens(9)
                    .minNewTokens(9).build();
            List<RolloutGroup> cached = new KvCacheSampler(policy, head, AnswerExtractor.boxed())
                    .sample(TinyModels.prompts(1), fixed, 21);
            for (int b = 0; b < 3; b++) {
                Rollout a = cached.get(0).rollouts().get(b);
                assertThat(a.length()).isEqualTo(9); // minNewTokens held the stop token back
                HiddenStates full = policy.responseHiddenStates(List.of(new PromptResponse(cached.get(0).prompt(),
                        a.tokenIds())));
                TokenScores recomputed = head.score(full, a.tokenIds(), HeadVersion.CURRENT);
                for (int t = 0; t < a.length(); t++) {
                    assertThat(recomputed.logProbs().get(t)).isCloseTo(a.logProbs().get(t), within(1e-5));
                }
            }
        }
    }

    @Test
    void theSamplerNeedsTheLossTemperature() throws Exception {
        try (OnnxPolicy policy = open(4);
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            SamplingParams hot = SamplingParams.builder().responsesPerPrompt(2).temperature(1.0).maxNewTokens(4).build();
            assertThatThrownBy(() -> sampler.sample(TinyModels.prompts(1), hot, 1))
                    .hasMessageContaining("sampling temperature 1.0 differs from the loss temperature 0.8");
            SamplingParams tooLong = params(2, 1000);
            assertThatThrownBy(() -> sampler.sample(TinyModels.prompts(1), tooLong, 1))
                    .hasMessageContaining("exceed the model's 128 positions");
        }
    }

    @Test
    void aGroupWhoseKvCacheExceedsTheBudgetIsRefusedBeforeAnythingIsDecoded() throws Exception {
        Path m = TinyModels.write(dir.resolve("kv"), 4);
        // a budget that fits 4 responses of the longest length below but not 5
        long fourFit;
        String factors;
        try (OnnxPolicy probe = OnnxPolicy.open(m, PolicyOptions.defaults())) {
            int p = probe.encode(TinyModels.prompts(1).get(0)).ids().length();
            fourFit = probe.kvCacheBytes(4, p + 6);
            var shape = probe.family().shape();
            factors = "2 (past and present) x 5 sequences x " + (p + 6) + " positions x " + shape.layers()
                    + " layers x 2 (keys and values) x " + shape.kvHeads() + " kv heads x " + shape.headDim()
                    + " head dim x 4 bytes (float32)";
        }
        List<Long> runs = new ArrayList<>();
        PolicyOptions options = PolicyOptions.defaults().withKvCacheBudget(fourFit).withRunListener((graph, nanos) -> runs.add(nanos));
        try (OnnxPolicy policy = OnnxPolicy.open(m, options);
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            assertThat(sampler.sample(TinyModels.prompts(1), params(4, 6), 1)).hasSize(1);
            runs.clear();
            // five responses do not fit: refused before any graph runs, whichever prompt it is
            assertThatThrownBy(() -> sampler.sample(TinyModels.prompts(2), params(5, 6), 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("decoding 5 responses of up to")
                    .hasMessageContaining(factors + ", over the budget of " + fourFit + " bytes");
            assertThat(runs).as("no graph ran before the refusal").isEmpty();
        }
    }

    @Test
    void aModelThatDoesNotMatchItsManifestFailsAtLoadNamingTheInputAndBothShapes() throws Exception {
        Path m = TinyModels.write(dir.resolve("bad"), 5);
        Path manifest = m.resolve(ModelManifest.FILE_NAME);
        String json = Files.readString(manifest);
        Files.writeString(manifest, json.replace("\"headDim\" : 8", "\"headDim\" : 16"));
        assertThatThrownBy(() -> OnnxPolicy.open(m, PolicyOptions.defaults()))
                .hasMessageContaining("input past_key_values.0.key has shape [batch, 4, past, 8]")
                .hasMessageContaining("the model's configuration implies [?, 4, ?, 16]");
        Files.writeString(manifest, json.replace("\"hiddenSize\" : 32", "\"hiddenSize\" : 48"));
        assertThatThrownBy(() -> OnnxPolicy.open(m, PolicyOptions.defaults()))
                .hasMessageContaining("vision.onnx: output image_features has shape [1, 16, 32]")
                .hasMessageContaining("[1, 16, 48]");
        Files.writeString(manifest, json.replace("\"vocabSize\" : 36", "\"vocabSize\" : 40"));
        assertThatThrownBy(() -> OnnxPolicy.open(m, PolicyOptions.defaults())).hasMessageContaining("36 tokens");
        Files.writeString(manifest, json);
        Files.delete(m.resolve("embed.onnx"));
        assertThatThrownBy(() -> OnnxPolicy.open(m, PolicyOptions.defaults())).hasMessageContaining("embed.onnx");
        assertThatThrownBy(() -> OnnxPolicy.open(dir.resolve("nowhere"), PolicyOptions.defaults()))
                .hasMessageContaining("not a model directory");
    }

    @Test
    void withoutTheGpuArtifactAutoFallsBackToTheCpuAndCudaIsRefused() throws Exception {
        Path m = TinyModels.write(dir.resolve("providers"), 9);
        try (OnnxPolicy auto = OnnxPolicy.open(m, PolicyOptions.defaults().withProvider(ExecutionProvider.AUTO))) {
            // this build carries the CPU-only onnxruntime artifact: AUTO warns and runs on the CPU
            assertThat(auto.executionProvider()).isEqualTo("CPU");
        }
        assertThatThrownBy(() -> OnnxPolicy.open(m, PolicyOptions.defaults().withProvider(ExecutionProvider.CUDA)))
                .hasMessageContaining("-Pgpu");
    }

    @Test
    void anExportedModelCarriesTheTrainedHead() throws Exception {
        try (OnnxPolicy policy = open(6)) {
            float[] w = policy.initialHead().weight();
            for (int i = 0; i < w.length; i += 3) {
                w[i] += 0.25f;
            }
            HeadWeights trained = HeadWeights.full(policy.initialHead().shape(), w);
            Path out = dir.resolve("exported");
            policy.exportModel(out, trained);
            try (OnnxPolicy reloaded = OnnxPolicy.open(out, PolicyOptions.defaults())) {
                assertThat(reloaded.initialHead()).isEqualTo(trained);
                assertThat(reloaded.spec().modelId()).isEqualTo(policy.spec().modelId()); // same trunk
            }
        }
    }

    @Test
    void promptsAreLaidOutWithImageTokensAtThePlaceholder() throws Exception {
        try (OnnxPolicy policy = open(7)) {
            EncodedPrompt e = policy.encode(TinyModels.prompt("x"));
            ModelManifest manifest = ((TinyFamily) policy.family()).manifest();
            ModelManifest.SpecialTokens st = manifest.tokens();
            assertThat(e.ids().get(0)).isEqualTo(st.bos());
            assertThat(e.images()).extracting(ImageSlot::start).containsExactly(1);
            assertThat(e.images().get(0).feed().rows()).isEqualTo(manifest.imageTokens());
            assertThat(e.positions()).isEqualTo(PromptPositions.sequential(e.ids().length()));
            for (int i = 0; i < manifest.imageTokens(); i++) {
                assertThat(e.ids().get(1 + i)).isEqualTo(st.image());
            }
            assertThat(e.ids().get(e.ids().length() - 1)).isEqualTo(st.answer());
            Prompt textOnly = new Prompt("t", List.of(), "how many ?");
            assertThat(policy.encode(textOnly).images()).isEmpty();
            policy.close();
            policy.close();
            assertThatThrownBy(() -> policy.responseHiddenStates(List.of(new PromptResponse(textOnly,
                    ImmutableIntArray.of(7))))).isInstanceOf(IllegalStateException.class);
        }
    }
}
