package io.github.mmupt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.FakeModels;
import io.github.mmupt.train.TrainingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What {@code build()} refuses, and why. */
class MmUptTest {

    private static final Policy POLICY = FakeModels.policy("m");

    private static ReferenceGrpoOptimizer optimizer(int vocab) {
        return new ReferenceGrpoOptimizer(ReferenceHead.full(HeadShape.full(vocab, FakeModels.D),
                new double[vocab * FakeModels.D]), GrpoLossConfig.builder().temperature(1.0).build(), AdamWConfig.mmUpt());
    }

    private static Dataset data(int n, boolean gold, boolean response) {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            examples.add(new Example(new Prompt("p" + i, List.of(), "question " + i), gold ? Optional.of("1") : Optional.empty(),
                    response ? Optional.of("1") : Optional.empty()));
        }
        return Dataset.of("d", examples);
    }

    private static MmUpt.Builder complete() {
        return MmUpt.builder().policy(POLICY).optimizer(optimizer(FakeModels.V)).sampler(FakeModels.sampler())
                .data(data(8, false, false)).sampling(FakeModels.sampling()).promptsPerStep(4);
    }

    @Test
    void aCompleteBuilderBuildsWithDefaults() {
        MmUpt upt = complete().build();
        assertThat(upt.settings().mode()).isEqualTo(TrainingMode.UPT);
        assertThat(upt.settings().steps()).as("default: one pass over the data").isEqualTo(2);
        assertThat(upt.settings().promptsPerMiniBatch()).isEqualTo(4);
    }

    @Test
    void missingRequiredSettingsAreNamedTogether() {
        assertThatThrownBy(() -> MmUpt.builder().build())
                .hasMessageContaining("policy").hasMessageContaining("optimizer").hasMessageContaining("data")
                .hasMessageContaining("sampler");
        // SFT does not sample
        MmUpt sft = MmUpt.builder().policy(POLICY).optimizer(optimizer(FakeModels.V)).mode(TrainingMode.SFT)
                .data(data(4, false, true)).promptsPerStep(4).build();
        assertThat(sft.settings().mode()).isEqualTo(TrainingMode.SFT);
    }

    @Test
    void crossFieldRulesSayWhatIsWrong() {
        assertThatThrownBy(() -> complete().promptsPerMiniBatch(3).build()).hasMessageContaining("whole groups")
                .hasMessageContaining("3");
        assertThatThrownBy(() -> complete().promptsPerStep(9).build()).hasMessageContaining("fewer than promptsPerStep = 9");
        assertThatThrownBy(() -> complete().sampling(SamplingParams.builder().responsesPerPrompt(4).temperature(0.7).build())
                .build()).hasMessageContaining("sampling temperature 0.7 must equal the loss temperature 1.0");
        assertThatThrownBy(() -> complete().optimizer(optimizer(FakeModels.V + 1)).build())
                .hasMessageContaining("does not fit the policy");
        assertThatThrownBy(() -> complete().mode(TrainingMode.SUPERVISED_GRPO).build())
                .hasMessageContaining("supervised GRPO rewards by the gold answer").hasMessageContaining("p0");
        assertThatThrownBy(() -> complete().mode(TrainingMode.SFT).build()).hasMessageContaining("SFT trains on gold responses");
        assertThatThrownBy(() -> complete().resume(true).build()).hasMessageContaining("resume(true) needs checkpoints");
        assertThatThrownBy(() -> complete().checkpoints(java.nio.file.Path.of("x"), 0).build())
                .hasMessageContaining("interval >= 1");
        assertThatThrownBy(() -> complete().iterations(0).build()).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> complete().steps(0).build()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theMmUptPresetIsThePublishedSettings() {
        MmUpt.Builder b = MmUpt.builder().mmUptPreset();
        MmUpt upt = b.policy(POLICY).optimizer(new ReferenceGrpoOptimizer(ReferenceHead.full(HeadShape.full(FakeModels.V,
                FakeModels.D), new double[FakeModels.V * FakeModels.D]), GrpoLossConfig.mmUpt(), AdamWConfig.mmUpt()))
                .sampler(FakeModels.sampler()).data(data(512, false, false)).build();
        assertThat(upt.settings().promptsPerStep()).isEqualTo(512);
        assertThat(upt.settings().promptsPerMiniBatch()).isEqualTo(128);
        assertThat(upt.settings().iterations()).isEqualTo(1);
        assertThat(upt.settings().sampling().responsesPerPrompt()).isEqualTo(10);
        assertThat(upt.settings().sampling().temperature()).isEqualTo(0.7);
    }
}
