package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A run in which no response ever has an answer is reported as such, not finished silently. */
class NoAnswersTest {

    private static final RolloutSampler NEVER_ANSWERS = (prompts, params, seed) -> {
        List<RolloutGroup> groups = new ArrayList<>();
        for (Prompt p : prompts) {
            ImmutableList.Builder<Rollout> rollouts = ImmutableList.builder();
            for (int i = 0; i < params.responsesPerPrompt(); i++) {
                rollouts.add(new Rollout(ImmutableIntArray.of(3, 0), ImmutableDoubleArray.of(), "I think it is 2",
                        Optional.empty(), FinishReason.STOP));
            }
            groups.add(new RolloutGroup(p, rollouts.build()));
        }
        return groups;
    };

    private static RunResult run(RolloutSampler sampler) throws Exception {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            examples.add(Example.unlabeled(new Prompt("p" + i, List.of(), "question " + i)));
        }
        try (ReferenceGrpoOptimizer opt = new ReferenceGrpoOptimizer(ReferenceHead.full(HeadShape.full(FakeModels.V,
                FakeModels.D), new double[FakeModels.V * FakeModels.D]), GrpoLossConfig.builder().temperature(1.0).build(),
                AdamWConfig.mmUpt())) {
            return MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(sampler)
                    .data(Dataset.of("d", examples)).sampling(FakeModels.sampling()).promptsPerStep(4).steps(3).seed(1)
                    .build().run();
        }
    }

    @Test
    void aRunWithoutAnyAnswerSaysSo() throws Exception {
        RunResult silent = run(NEVER_ANSWERS);
        assertThat(silent.noResponseAnswered()).isTrue();
        assertThat(silent.stepsWithoutAnswers()).isEqualTo(3);
        assertThat(silent.steps()).allSatisfy(s -> assertThat(s.updates()).allSatisfy(u -> assertThat(u.gradNorm()).isZero()));

        RunResult normal = run(FakeModels.sampler());
        assertThat(normal.noResponseAnswered()).isFalse();
        assertThat(normal.stepsWithoutAnswers()).isZero();
    }
}
