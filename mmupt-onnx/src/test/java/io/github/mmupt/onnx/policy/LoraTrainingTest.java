package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.MmUpt;
import io.github.mmupt.adapter.AdapterParameters;
import io.github.mmupt.adapter.AdapterState;
import io.github.mmupt.adapter.TrunkAdapters;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA on every projection of the tiny model's decoder, through the policy and the training loop: the adapters
 * start as the base model, the backward pass is the gradient of the head's loss through the policy's own feed,
 * training through them lowers a supervised loss with the head held still, the first iteration's ratio is exactly
 * 1, runs are deterministic and a checkpointed run resumes to the same adapters bit for bit.
 */
class LoraTrainingTest {

    @TempDir
    static Path dir;
    static Path model;

    private static final LoraSettings LORA = LoraSettings.builder().rank(2).alpha(4).seed(11).build();

    @BeforeAll
    static void writeModel() throws Exception {
        model = TinyModels.write(dir.resolve("model"), 7);
    }

    private static OnnxPolicy open(LoraSettings lora) throws Exception {
        return OnnxPolicy.open(model, PolicyOptions.defaults().withLora(lora));
    }

    private static List<PromptResponse> sequences(OnnxPolicy policy) {
        return List.of(new PromptResponse(TinyModels.prompt("a"), policy.tokenizer().encode("the answer is 2 .")),
                new PromptResponse(TinyModels.prompt("b"), policy.tokenizer().encode("\\boxed{ 3 }")));
    }

    private static float[] array(HiddenStates h) {
        float[] out = new float[h.tokens() * h.hiddenSize()];
        h.values().duplicate().get(out);
        return out;
    }

    private static AdapterState withRandomB(AdapterParameters p, Random random) {
        return AdapterGradientChecks.withRandomB(p, random);
    }

    @Test
    void zeroBAdaptersAreTheBaseModelAndTheReferenceStaysTheBaseModel() throws Exception {
        try (OnnxPolicy base = OnnxPolicy.open(model, PolicyOptions.defaults()); OnnxPolicy lora = open(LORA)) {
            assertThat(base.adapters()).isEmpty();
            TrunkAdapters adapters = lora.adapters().orElseThrow();
            // 6 projections (the tiny MLP has no gate) x layers x (A, B)
            assertThat(adapters.parameters().size()).isEqualTo(2 * 6 * TinyModels.config().layers());
            List<PromptResponse> seqs = sequences(base);
            float[] expected = array(base.responseHiddenStates(seqs));
            assertThat(array(lora.responseHiddenStates(seqs))).as("A random, B zero: the base model").isEqualTo(expected);

            adapters.parameters().restore(withRandomB(adapters.parameters(), new Random(1)));
            assertThat(array(lora.responseHiddenStates(seqs))).as("non-zero B changes the policy").isNotEqualTo(expected);
            assertThat(array(adapters.referenceHiddenStates(seqs))).as("the reference has zero adapters")
                    .isEqualTo(expected);
            assertThat(array(lora.responseHiddenStates(seqs))).as("and the current adapters come back after it")
                    .isNotEqualTo(expected);
        }
    }

    /**
     * The loss L = sum_t c_t . h_t of the policy's own hidden states (the feed a training step uses: embeddings,
     * image features, positions); its directional derivative along random directions in A and B, by central
     * differences of the policy's forward, against {@code backward(c)}.
     */
    @Test
    void backwardIsTheGradientOfTheHeadsLossThroughThePolicy() throws Exception {
        try (OnnxPolicy lora = open(LORA)) {
            AdapterParameters p = lora.adapters().orElseThrow().parameters();
            Random random = new Random(5);
            AdapterState at = withRandomB(p, random);
            p.restore(at);
            List<PromptResponse> seqs = sequences(lora);
            HiddenStates h = lora.responseHiddenStates(seqs);
            float[] c = new float[h.tokens() * h.hiddenSize()];
            for (int i = 0; i < c.length; i++) {
                c[i] = (float) random.nextGaussian();
            }
            lora.adapters().get().backward(seqs, HiddenStates.of(h.tokens(), h.hiddenSize(), c));
            List<double[]> gradient = new ArrayList<>();
            for (int k = 0; k < p.size(); k++) {
                gradient.add(p.gradient(k)); // kept: the restores below clear the accumulated gradient
            }
            double worst = 0;
            for (int trial = 0; trial < 3; trial++) {
                Map<String, float[]> plus = new LinkedHashMap<>(at.tensors());
                Map<String, float[]> minus = new LinkedHashMap<>(at.tensors());
                double analytic = 0;
                double magnitude = 0;
                for (int k = 0; k < p.size(); k++) {
                    float[] v = at.tensor(p.names().get(k));
                    double[] g = gradient.get(k);
                    float[] vp = v.clone();
                    float[] vm = v.clone();
                    for (int i = 0; i < v.length; i++) {
                        double dir = random.nextGaussian();
                        // 1e-3: at 1e-2 the tiny model's ReLU kinks give 7%; at 3e-3 float round-off reaches 1e-3
                        double eps = 1e-3;
                        vp[i] = (float) (v[i] + eps * dir);
                        vm[i] = (float) (v[i] - eps * dir);
                        // the step actually taken in float, so rounding of the perturbed values does not count
                        double taken = ((double) vp[i] - vm[i]) / 2;
                        analytic += g[i] * taken;
                        magnitude += Math.abs(g[i] * taken);
                    }
                    plus.put(p.names().get(k), vp);
                    minus.put(p.names().get(k), vm);
                }
                double numeric = (loss(lora, p, new AdapterState(0, p.kind(), plus), seqs, c)
                        - loss(lora, p, new AdapterState(0, p.kind(), minus), seqs, c)) / 2;
                double err = Math.abs(analytic - numeric) / magnitude;
                worst = Math.max(worst, err);
                assertThat(err).as("trial %d: analytic %s, numeric %s", trial, analytic, numeric).isLessThan(1e-3);
            }
            System.out.printf("lora policy backward: worst relative error %.2e%n", worst);
        }
    }

    /**
     * Sequences of one length share one run of the gradient graph (a batch, no padding): the gradient is the
     * sum of their gradients taken one at a time, up to float round-off.
     */
    @Test
    void sequencesOfOneLengthShareAGradientRunWithTheSameResult() throws Exception {
        try (OnnxPolicy lora = open(LORA)) {
            AdapterParameters p = lora.adapters().orElseThrow().parameters();
            p.restore(withRandomB(p, new Random(6)));
            AdapterState at = p.state();
            List<PromptResponse> seqs = List.of(
                    new PromptResponse(TinyModels.prompt("a"), lora.tokenizer().encode("the answer is 2 .")),
                    new PromptResponse(TinyModels.prompt("b"), lora.tokenizer().encode("\\boxed{ 3 }")),
                    new PromptResponse(TinyModels.prompt("c"), lora.tokenizer().encode("the answer is 1 .")),
                    new PromptResponse(TinyModels.prompt("a"), lora.tokenizer().encode("the answer is 3 .")));
            assertThat(lora.feed(seqs.get(0)).total()).as("three sequences of one length: one batch")
                    .isEqualTo(lora.feed(seqs.get(2)).total()).isEqualTo(lora.feed(seqs.get(3)).total())
                    .isNotEqualTo(lora.feed(seqs.get(1)).total());
            AdapterGradientChecks.assertBatchedEqualsOneAtATime(lora.adapters().get(), at, seqs,
                    lora.responseHiddenStates(seqs), new Random(7));
        }
    }

    private static double loss(OnnxPolicy policy, AdapterParameters p, AdapterState s, List<PromptResponse> seqs,
            float[] c) {
        p.restore(s);
        float[] h = array(policy.responseHiddenStates(seqs));
        double sum = 0;
        for (int i = 0; i < h.length; i++) {
            sum += (double) c[i] * h[i];
        }
        return sum;
    }

    @Test
    void aFrozenHeadNeedsAdaptersToTrain() throws Exception {
        try (OnnxPolicy frozen = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            assertThatThrownBy(() -> run(frozen, 1e-3, b -> b.mode(TrainingMode.SFT).steps(1).trainHead(false)))
                    .hasMessageContaining("would train nothing");
        }
    }

    @Test
    void backwardRefusesAGradientOfAnotherShape() throws Exception {
        try (OnnxPolicy lora = open(LORA)) {
            List<PromptResponse> seqs = sequences(lora);
            assertThatThrownBy(() -> lora.adapters().orElseThrow().backward(seqs, HiddenStates.of(2,
                    lora.spec().hiddenSize(), new float[2 * lora.spec().hiddenSize()])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("response tokens");
        }
    }

    private static Dataset gold() {
        List<Example> examples = new ArrayList<>();
        String[] answers = {"2", "3", "1", "2"};
        for (int i = 0; i < answers.length; i++) {
            examples.add(new Example(TinyModels.prompt("g" + i), Optional.of(answers[i]),
                    Optional.of("the answer is \\boxed{ " + answers[i] + " } .")));
        }
        return Dataset.of("gold", examples);
    }

    private static RunResult run(OnnxPolicy policy, double headLr, UnaryOperator<MmUpt.Builder> settings) throws Exception {
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).kl(KlPenalty.mmUpt()).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(headLr).weightDecay(0).build();
        try (GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), loss, adamW, KernelOptions.defaults())) {
            return settings.apply(MmUpt.builder().policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed())).data(gold())
                    .sampling(SamplingParams.builder().responsesPerPrompt(3).temperature(1.0).maxNewTokens(6).build())
                    .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build())
                    .promptsPerStep(2).microBatchSequences(1).seed(3)).build().run();
        }
    }

    /** The supervised toy: SFT on gold responses with the head frozen, so the loss falls through the adapters alone. */
    @Test
    void supervisedTrainingThroughTheAdaptersAloneLowersTheLoss() throws Exception {
        LoraSettings fast = LoraSettings.builder().rank(2).alpha(4).seed(11).learningRateScale(10).build();
        try (OnnxPolicy lora = open(fast)) {
            RunResult r = run(lora, 1e-2, b -> b.mode(TrainingMode.SFT).steps(12).promptsPerStep(4).trainHead(false));
            assertThat(r.finalHead()).as("the frozen head").isEqualTo(lora.initialHead());
            assertThat(r.steps()).allSatisfy(s -> assertThat(s.updates()).allSatisfy(u -> assertThat(u.skipped()).isFalse()));
            double first = -r.steps().get(0).meanLogProb();
            double last = -r.steps().get(r.steps().size() - 1).meanLogProb();
            System.out.printf("lora SFT cross-entropy: %.4f -> %.4f%n", first, last);
            assertThat(last).as("cross-entropy after 12 steps through the adapters").isLessThan(0.7 * first);
            assertThat(lora.adapters().orElseThrow().parameters().step()).isEqualTo(12);
            float[] b = lora.adapters().get().parameters().values(1);
            assertThat(b).as("B moved from zero").isNotEqualTo(new float[b.length]);
        }
    }

    /** One update per step: every token of the first (and only) iteration is scored before any update. */
    @Test
    void theFirstIterationsRatioIsExactlyOneThroughTheAdapters() throws Exception {
        try (OnnxPolicy lora = open(LORA)) {
            // non-zero B: the sampling and scoring runs then both go through live adapters
            lora.adapters().orElseThrow().parameters().restore(withRandomB(lora.adapters().get().parameters(),
                    new Random(2)));
            RunResult r = run(lora, 1e-3, b -> b.mode(TrainingMode.UPT).steps(2).promptsPerMiniBatch(2).iterations(1));
            for (StepStats s : r.steps()) {
                assertThat(s.loss().tokens()).isPositive();
                assertThat(s.loss().driftSum()).as("step %d: logp_old - logp summed", s.step()).isEqualTo(0.0);
                assertThat(s.updates()).hasSize(1).allSatisfy(u -> assertThat(u.skipped()).isFalse());
            }
        }
    }

    @Test
    void runsAreDeterministicAndAResumedRunEndsWithTheSameAdaptersBitForBit() throws Exception {
        UnaryOperator<MmUpt.Builder> upt = b -> b.mode(TrainingMode.UPT).promptsPerMiniBatch(1).iterations(2);
        Map<String, float[]> whole;
        RunResult wholeRun;
        try (OnnxPolicy lora = open(LORA)) {
            wholeRun = run(lora, 1e-3, b -> upt.apply(b).steps(2));
            whole = lora.adapters().orElseThrow().parameters().values();
        }
        try (OnnxPolicy lora = open(LORA)) {
            RunResult again = run(lora, 1e-3, b -> upt.apply(b).steps(2));
            assertThat(again.finalHead()).isEqualTo(wholeRun.finalHead());
            assertThat(lora.adapters().orElseThrow().parameters().values()).containsExactlyEntriesOf(whole);
        }
        assertThat(whole.values().stream().filter(v -> v.length > 0)).as("the adapters trained")
                .anySatisfy(v -> assertThat(v).isNotEqualTo(new float[v.length]));
        Path checkpoints = dir.resolve("checkpoints");
        try (OnnxPolicy lora = open(LORA)) {
            run(lora, 1e-3, b -> upt.apply(b).steps(1).checkpoints(checkpoints, 1));
        }
        try (OnnxPolicy lora = open(LORA)) {
            RunResult resumed = run(lora, 1e-3, b -> upt.apply(b).steps(2).checkpoints(checkpoints, 1).resume(true));
            assertThat(resumed.steps()).hasSize(1);
            assertThat(resumed.finalHead()).isEqualTo(wholeRun.finalHead());
            assertThat(lora.adapters().orElseThrow().parameters().values()).containsExactlyEntriesOf(whole);
        }
        try (OnnxPolicy otherAlpha = open(LoraSettings.builder().rank(2).alpha(8).seed(11).build())) {
            assertThatThrownBy(() -> run(otherAlpha, 1e-3, b -> upt.apply(b).steps(3).checkpoints(checkpoints, 1)
                    .resume(true))).hasMessageContaining("LoRA rank 2, alpha 4.0").hasMessageContaining("alpha 8.0");
        }
        try (OnnxPolicy frozen = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            assertThatThrownBy(() -> run(frozen, 1e-3, b -> upt.apply(b).steps(3).checkpoints(checkpoints, 1).resume(true)))
                    .hasMessageContaining("holds trunk adapters").hasMessageContaining("frozen");
        }
    }

    /** A float buffer's remaining values. */
    static float[] floats(FloatBuffer b) {
        float[] out = new float[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    /** Sampling goes through the adapters too: non-zero adapters sample other responses than zero ones. */
    @Test
    void samplingSeesTheCurrentAdapters() throws Exception {
        try (OnnxPolicy lora = open(LORA);
                GrpoOptimizer head = new NativeGrpoOptimizer(lora.initialHead(), GrpoLossConfig.builder().temperature(1.0).build(),
                        AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(lora, head, AnswerExtractor.boxed());
            SamplingParams params = SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).maxNewTokens(8).build();
            List<RolloutGroup> before = sampler.sample(TinyModels.prompts(1), params, 9);
            AdapterParameters p = lora.adapters().orElseThrow().parameters();
            p.restore(withRandomB(p, new Random(4)));
            List<RolloutGroup> after = sampler.sample(TinyModels.prompts(1), params, 9);
            assertThat(after.get(0).rollouts().get(0).logProbs()).isNotEqualTo(before.get(0).rollouts().get(0).logProbs());
            // and what it sampled scores the same through the policy's full-sequence pass
            var r = after.get(0).rollouts().get(0);
            HiddenStates h = lora.responseHiddenStates(List.of(new PromptResponse(after.get(0).prompt(), r.tokenIds())));
            var scored = head.score(h, r.tokenIds(), io.github.mmupt.grpo.HeadVersion.CURRENT).logProbs();
            for (int t = 0; t < r.length(); t++) {
                assertThat(scored.get(t)).isCloseTo(r.logProbs().get(t), org.assertj.core.api.Assertions.within(1e-5));
            }
        }
    }

    /**
     * Export: the merged model, opened as a plain (frozen) model, computes the adapted policy's hidden states; the
     * PEFT files carry every adapter under PEFT's names and shapes with the configuration that loads them.
     */
    @Test
    void exportsTheMergedModelAndPeftAdapters() throws Exception {
        try (OnnxPolicy lora = open(LORA)) {
            AdapterParameters p = lora.adapters().orElseThrow().parameters();
            p.restore(withRandomB(p, new Random(8)));
            List<PromptResponse> seqs = sequences(lora);
            float[] adapted = array(lora.responseHiddenStates(seqs));
            Path merged = dir.resolve("merged");
            lora.exportModel(merged, lora.initialHead());
            try (OnnxPolicy plain = OnnxPolicy.open(merged, PolicyOptions.defaults())) {
                assertThat(plain.adapters()).isEmpty();
                float[] got = array(plain.responseHiddenStates(seqs));
                float[] base;
                try (OnnxPolicy original = OnnxPolicy.open(model, PolicyOptions.defaults())) {
                    base = array(original.responseHiddenStates(seqs));
                }
                double worst = 0;
                double moved = 0;
                for (int i = 0; i < got.length; i++) {
                    worst = Math.max(worst, Math.abs(got[i] - adapted[i]) / (1 + Math.abs(adapted[i])));
                    moved = Math.max(moved, Math.abs(adapted[i] - base[i]));
                }
                assertThat(moved).as("the adapters changed the hidden states").isGreaterThan(1e-2);
                assertThat(worst).as("merged vs adapted, relative").isLessThan(1e-5);
            }

            Path peft = dir.resolve("peft");
            lora.exportAdapters(peft);
            var contents = io.github.mmupt.checkpoint.Safetensors.read(peft.resolve("adapter_model.safetensors"));
            assertThat(contents.tensors()).hasSize(p.size());
            String a0 = p.names().get(0);
            String peftName = "base_model.model." + a0;
            assertThat(contents.tensors()).containsKey(peftName);
            assertThat(contents.tensors().get(peftName).shape()).containsExactly(LORA.rank(),
                    TinyModels.config().hiddenSize());
            assertThat(contents.tensors().get(peftName).values()).isEqualTo(p.values(0));
            var config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(peft.resolve("adapter_config.json")
                    .toFile());
            assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
            assertThat(config.get("r").asInt()).isEqualTo(2);
            assertThat(config.get("lora_alpha").asDouble()).isEqualTo(4.0);
            assertThat(config.get("target_modules")).hasSize(6);
        }
    }
}
