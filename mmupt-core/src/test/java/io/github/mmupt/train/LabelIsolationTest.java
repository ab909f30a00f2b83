package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.judge.ResponseJudge;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.RolloutGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Label isolation of every unsupervised mode, by its consequence: the trained weights are bit-identical whether
 * the examples carry their gold answers and responses, other (wrong) ones, or none. Only the audit statistics
 * may differ. (The data-generating baselines have their own: {@code QaSynthesizerTest},
 * {@code PreferencePairsTest}.)
 */
class LabelIsolationTest {

    /** A judge scoring a response by its digit. */
    private static final ResponseJudge JUDGE = (groups, seed) -> {
        List<List<OptionalDouble>> out = new ArrayList<>();
        for (RolloutGroup g : groups) {
            out.add(g.rollouts().stream().map(r -> OptionalDouble.of(Integer.parseInt(r.text()) / 9.0)).toList());
        }
        return out;
    };

    @ParameterizedTest
    @ValueSource(strings = {"UPT", "LMSI", "SRLM", "UPT+judge"})
    void theWeightsDoNotDependOnTheGoldLabels(String mode) throws Exception {
        float[] none = train(mode, i -> Optional.empty(), i -> Optional.empty());
        float[] right = train(mode, i -> Optional.of(String.valueOf(("question " + "x".repeat(i)).length() % 10)),
                i -> Optional.of("the gold response"));
        float[] wrong = train(mode, i -> Optional.of("WRONG-" + i), i -> Optional.of("a wrong response " + i));
        assertThat(right).as("%s: gold labels present", mode).containsExactly(none);
        assertThat(wrong).as("%s: wrong labels present", mode).containsExactly(none);
    }

    private static float[] train(String mode, java.util.function.IntFunction<Optional<String>> gold,
            java.util.function.IntFunction<Optional<String>> goldResponse) throws Exception {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            examples.add(new Example(new Prompt("p" + i, List.of(), "question " + "x".repeat(i)), gold.apply(i),
                    goldResponse.apply(i)));
        }
        MmUpt.Builder b = MmUpt.builder().policy(FakeModels.policy("m")).optimizer(FakeModels.optimizer())
                .sampler(FakeModels.sampler()).sampling(FakeModels.sampling()).data(Dataset.of("d", examples))
                .promptsPerStep(4).steps(3);
        switch (mode) {
            case "UPT" -> b.mode(TrainingMode.UPT);
            case "LMSI" -> b.mode(TrainingMode.LMSI);
            case "SRLM" -> b.mode(TrainingMode.SRLM).judge(JudgeReward.only(JUDGE));
            case "UPT+judge" -> b.mode(TrainingMode.UPT).judge(new JudgeReward(JUDGE, 0.5));
            default -> throw new IllegalArgumentException(mode);
        }
        RunResult r = b.build().run();
        assertThat(r.steps()).anySatisfy(s -> assertThat(s.updates()).isNotEmpty());
        return r.finalHead().weight();
    }
}
