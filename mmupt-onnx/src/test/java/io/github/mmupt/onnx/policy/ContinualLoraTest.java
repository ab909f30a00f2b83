package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.adapter.AdapterParameters;
import io.github.mmupt.adapter.AdapterState;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.continual.ContinualResult;
import io.github.mmupt.continual.ContinualRunner;
import io.github.mmupt.continual.ExampleSource;
import io.github.mmupt.continual.GuardAction;
import io.github.mmupt.continual.ModelVersions;
import io.github.mmupt.continual.ProbeSet;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guarded continual runner on a policy that trains LoRA adapters in its decoder: a version's checkpoint
 * carries the adapters, a rollback puts them (and the head and both optimizers' moments) back bit for bit, and a
 * published version is the merged model, which a plain policy opens as the adapted one.
 */
class ContinualLoraTest {

    @TempDir
    Path dir;

    private static final LoraSettings LORA = LoraSettings.builder().rank(2).alpha(4).learningRateScale(1.0).seed(5).build();

    private static List<Example> examples(int n, String prefix) {
        return IntStream.range(0, n).mapToObj(i -> Example.unlabeled(TinyModels.prompt(prefix + i))).toList();
    }

    /** The policy's sampler, or, once collapsed, one that answers 7 to everything (the probe guards then fire). */
    private static RolloutSampler collapsible(RolloutSampler healthy, AtomicBoolean collapsed) {
        return (prompts, params, seed) -> {
            if (!collapsed.get()) {
                return healthy.sample(prompts, params, seed);
            }
            List<RolloutGroup> groups = new ArrayList<>();
            for (Prompt p : prompts) {
                ImmutableList.Builder<Rollout> b = ImmutableList.builder();
                for (int i = 0; i < params.responsesPerPrompt(); i++) {
                    b.add(new Rollout(ImmutableIntArray.of(8, 0), ImmutableDoubleArray.of(), "7", Optional.of("7"),
                            FinishReason.STOP));
                }
                groups.add(new RolloutGroup(p, b.build()));
            }
            return groups;
        };
    }

    @Test
    void aRollbackRestoresTheAdaptersBitForBitAndVersionsAreTheMergedModel() throws Exception {
        Path model = TinyModels.write(dir.resolve("model"), 7);
        Path store = dir.resolve("store");
        AtomicBoolean collapsed = new AtomicBoolean();
        AtomicReference<AdapterState> adaptersAtWindow1 = new AtomicReference<>();
        AtomicReference<OptimizerState> headAtWindow1 = new AtomicReference<>();
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).kl(KlPenalty.mmUpt()).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(1e-2).weightDecay(0).build();
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults().withLora(LORA));
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), loss, adamW, KernelOptions.defaults())) {
            AdapterParameters adapters = policy.adapters().orElseThrow().parameters();
            AdapterState initial = adapters.state();
            RolloutSampler sampler = collapsible(new KvCacheSampler(policy, head, AnswerExtractor.boxed()), collapsed);
            ContinualResult r = ContinualRunner.builder()
                    .training(MmUpt.builder().policy(policy).optimizer(head).sampler(sampler)
                            .sampling(SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).maxNewTokens(6).build())
                            .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build())
                            .promptsPerStep(2).microBatchSequences(1).seed(3))
                    .source(ExampleSource.of(examples(100, "s").iterator()))
                    .probe(ProbeSet.of(examples(8, "probe").stream().map(Example::prompt).toList(), 99))
                    .windowSteps(2).maxWindows(3)
                    .publishTo(ModelVersions.open(store, 10), (weights, version) ->
                            policy.exportModel(version.resolve("model"), weights))
                    .listener(report -> {
                        if (report.signals().window() == 1) {
                            adaptersAtWindow1.set(adapters.state());
                            headAtWindow1.set(head.state());
                        }
                        if (report.signals().window() == 2) {
                            collapsed.set(true);
                        }
                    }).build().run();
            // as in the core runner's test: window 1 staged as v2, published when window 2 passes; window 3's
            // collapse discards v3 and rolls back to v2
            assertThat(r.published()).containsExactly(1L, 2L);
            assertThat(r.rollbacks()).isEqualTo(1);
            assertThat(r.windows().get(2).decision().action()).contains(GuardAction.ROLLBACK);
            assertThat(adaptersAtWindow1.get().tensors()).as("the adapters trained in window 1")
                    .isNotEqualTo(initial.tensors());
            assertThat(adapters.state()).as("adapters, moments and step of v2, bit for bit").isEqualTo(adaptersAtWindow1.get());
            assertThat(head.state()).as("the head and its moments of v2").isEqualTo(headAtWindow1.get());

            // the served version is the merged model: a plain policy opened on it is the adapted policy
            List<PromptResponse> seqs = List.of(new PromptResponse(TinyModels.prompt("a"),
                    policy.tokenizer().encode("the answer is 2 .")));
            float[] adapted = floats(policy.responseHiddenStates(seqs));
            Path served = ModelVersions.readCurrent(store).orElseThrow().resolve("model");
            try (OnnxPolicy plain = OnnxPolicy.open(served, PolicyOptions.defaults())) {
                assertThat(plain.adapters()).isEmpty();
                float[] got = floats(plain.responseHiddenStates(seqs));
                for (int i = 0; i < got.length; i++) {
                    assertThat((double) Math.abs(got[i] - adapted[i])).as("hidden %d", i)
                            .isLessThan(1e-5 * (1 + Math.abs(adapted[i])));
                }
            }
        }
    }

    private static float[] floats(HiddenStates h) {
        float[] out = new float[h.tokens() * h.hiddenSize()];
        h.values().duplicate().get(out);
        return out;
    }
}
