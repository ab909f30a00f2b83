package io.github.mmupt.continual;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.train.FakeModels;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.PseudoLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CanaryAndProbeTest {

    /** The fake sampler's majority for a question is its length mod 10. */
    private static Prompt prompt(int length) {
        return new Prompt("p" + length, List.of(), "q".repeat(length));
    }

    @Test
    void canaryAccuracyIsTheShareOfSampledAnswersEqualToTheGoldAndTheLabelerNeverSeesTheGold() {
        List<Example> canary = new ArrayList<>();
        for (int len = 1; len <= 10; len++) {
            // the gold is right for the first 7, wrong for the last 3
            String gold = len <= 7 ? String.valueOf(len % 10) : "GOLD-" + len;
            canary.add(new Example(prompt(len), Optional.of(gold), Optional.empty()));
        }
        List<List<Optional<String>>> seen = new ArrayList<>();
        PseudoLabeler spy = new PseudoLabeler() {
            final PseudoLabeler inner = MajorityVoteLabeler.standard();

            @Override
            public VoteResult label(List<Optional<String>> answers) {
                seen.add(answers);
                return inner.label(answers);
            }

            @Override
            public io.github.mmupt.vote.LabelAudit audit(VoteResult vote, String gold) {
                throw new AssertionError("a canary measures, it never audits through the labeler");
            }
        };
        var sampling = FakeModels.sampling().toBuilder().responsesPerPrompt(15).build();
        double accuracy = CanarySet.of(canary, 5).accuracy(FakeModels.sampler(), sampling, spy, AnswerEquivalence.standard());
        // the expected share, counted from the same samples: answers equal to len % 10 for the 7 right golds
        List<io.github.mmupt.rollout.RolloutGroup> groups = FakeModels.sampler().sample(
                canary.stream().map(Example::prompt).toList(), sampling, 5);
        long right = 0;
        for (int i = 0; i < 7; i++) {
            String gold = String.valueOf((i + 1) % 10);
            right += groups.get(i).answers().stream().filter(a -> a.orElse("").equals(gold)).count();
        }
        assertThat(accuracy).isEqualTo(right / 150.0);
        assertThat(accuracy).isBetween(0.4, 0.7); // most samples give the majority answer; a third are random
        assertThat(seen).hasSize(10).allSatisfy(answers -> assertThat(answers).noneMatch(a -> a.orElse("").startsWith("GOLD")));
    }

    @Test
    void aCanaryMustBeLabeledAndAProbeBounded() {
        assertThatThrownBy(() -> CanarySet.of(List.of(Example.unlabeled(prompt(3))), 1))
                .hasMessageContaining("has no gold answer");
        List<Prompt> many = new ArrayList<>();
        for (int i = 0; i <= ProbeSet.MAX_PROMPTS; i++) {
            many.add(prompt(1));
        }
        assertThatThrownBy(() -> ProbeSet.of(many, 1)).hasMessageContaining("1 to " + ProbeSet.MAX_PROMPTS);
    }

    @Test
    void readingsOfTheSameModelAndSeedAgreeAndFlipsCountChangedMajorities() {
        ProbeSet probe = ProbeSet.of(List.of(prompt(1), prompt(2), prompt(3), prompt(4)), 11);
        ProbeReading a = probe.measure(FakeModels.sampler(), FakeModels.sampling(), MajorityVoteLabeler.standard());
        ProbeReading b = probe.measure(FakeModels.sampler(), FakeModels.sampling(), MajorityVoteLabeler.standard());
        assertThat(b).isEqualTo(a);
        AnswerEquivalence eq = AnswerEquivalence.standard();
        assertThat(a.flipsFrom(b, eq)).isZero();
        ProbeReading changed = new ProbeReading(List.of(Optional.of("1"), Optional.of("2.0"), Optional.empty(),
                Optional.of("9")), 0.5, 1.0);
        ProbeReading before = new ProbeReading(List.of(Optional.of("1"), Optional.of("2"), Optional.of("3"),
                Optional.of("4")), 0.5, 1.0);
        // "2.0" equals "2"; an abstention differs from "3"; "9" differs from "4"
        assertThat(changed.flipsFrom(before, eq)).isEqualTo(0.5);
        assertThat(new ProbeReading(List.of(Optional.of("7"), Optional.of("7.0"), Optional.of("3"), Optional.empty()),
                0.5, 1.0).concentration(eq)).isEqualTo(0.5);
    }
}
