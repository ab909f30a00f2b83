package io.github.mmupt.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Genixer-style synthesis: what a reply must be to become a pair, that self-consistency keeps only pairs whose
 * confident majority is the written answer, what the kept example holds, and that no source label is read.
 */
class QaSynthesizerTest {

    private static final SamplingParams ANSWER = SamplingParams.builder().responsesPerPrompt(4).temperature(0.7).build();

    private static Example source(String id, int shade, Optional<String> gold) {
        byte[] rgb = new byte[12];
        java.util.Arrays.fill(rgb, (byte) shade);
        return new Example(new Prompt(id, List.of(RgbImage.of(2, 2, rgb)), "<image>how many dots are there?"), gold,
                gold.map(g -> "the gold rationale \\boxed{" + g + "}"));
    }

    /**
     * Writers reply with four candidates; a check of a question about "red" answers 3 three times out of four,
     * of "blue" 5 and 2 twice each (no confident majority), of "green" 7 every time.
     */
    private static RolloutSampler scripted(List<Prompt> seen) {
        return (prompts, params, seed) -> {
            List<RolloutGroup> out = new ArrayList<>();
            for (Prompt p : prompts) {
                seen.add(p);
                List<String> texts;
                if (p.id().endsWith("#qa-write")) {
                    texts = List.of("Question: How many red shapes are there? Answer: \\boxed{3}.",
                            "I cannot write a question here",
                            "How many blue shapes are there? Answer: 5",
                            "How many green shapes are there? Answer: 4");
                } else if (p.question().contains("red")) {
                    texts = List.of("count \\boxed{2}", "count red \\boxed{3}", "again \\boxed{3}", "\\boxed{3}");
                } else if (p.question().contains("blue")) {
                    texts = List.of("\\boxed{5}", "\\boxed{2}", "\\boxed{5}", "\\boxed{2}");
                } else {
                    texts = List.of("\\boxed{7}", "\\boxed{7}", "\\boxed{7}", "\\boxed{7}");
                }
                List<Rollout> rollouts = new ArrayList<>();
                for (String t : texts) {
                    rollouts.add(new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(), t,
                            AnswerExtractor.boxed().extract(t), FinishReason.STOP));
                }
                out.add(new RolloutGroup(p, rollouts));
            }
            return out;
        };
    }

    private static QaSynthesizer synthesizer(List<Prompt> seen) {
        return QaSynthesizer.builder().sampler(scripted(seen)).selfConsistency(0.6, ANSWER).pairsPerSource(2).seed(3).build();
    }

    @Test
    void keepsPairsWhoseConfidentMajorityIsTheWrittenAnswer() {
        List<Prompt> seen = new ArrayList<>();
        SynthesisResult r = synthesizer(seen).synthesize(List.of(source("img-0", 10, Optional.empty())));
        // red: majority 3 (0.75) = written 3, kept; blue: no confident majority; green: majority 7 != written 4
        assertThat(r.dataset().examples()).hasSize(1);
        Example kept = r.dataset().examples().get(0);
        assertThat(kept.prompt().question()).isEqualTo("<image>How many red shapes are there?");
        assertThat(kept.prompt().id()).isEqualTo("img-0#genixer-0");
        assertThat(kept.goldAnswer()).hasValue("3");
        assertThat(kept.goldResponse()).as("the first response that reached the answer").hasValue("count red \\boxed{3}");
        assertThat(kept.provenance()).hasValueSatisfying(p -> {
            assertThat(p.strategy()).isEqualTo("genixer");
            assertThat(p.sourceId()).isEqualTo("img-0");
            assertThat(p.candidate()).isEqualTo(0);
        });
        SynthesisReport report = r.report();
        assertThat(report.candidates()).isEqualTo(4);
        assertThat(report.notAQuestion()).as("the reply without a pair").isEqualTo(1);
        assertThat(report.inconsistent()).isEqualTo(2);
        assertThat(report.kept()).isEqualTo(1);
        assertThat(seen.get(0).question()).as("the writer sees the image only").doesNotContain("dots");
    }

    @Test
    void readsNoLabelOfItsSources() {
        List<Prompt> a = new ArrayList<>();
        List<Prompt> b = new ArrayList<>();
        List<Example> labelled = List.of(source("img-0", 10, Optional.of("3")), source("img-1", 20, Optional.of("9")));
        List<Example> unlabelled = List.of(source("img-0", 10, Optional.empty()), source("img-1", 20, Optional.empty()));
        SynthesisResult withLabels = synthesizer(a).synthesize(labelled);
        SynthesisResult without = synthesizer(b).synthesize(unlabelled);
        assertThat(withLabels.dataset().examples()).isEqualTo(without.dataset().examples());
        assertThat(a).isEqualTo(b);
        assertThat(a).allSatisfy(p -> assertThat(p.question()).doesNotContain("gold"));
    }

    @Test
    void splitsRepliesAtTheLastMarker() {
        QaPrompts p = QaPrompts.defaults();
        assertThat(p.split("Question: What is shown? Answer: a cat.")).hasValueSatisfying(qa -> {
            assertThat(qa[0]).isEqualTo("What is shown?");
            assertThat(qa[1]).isEqualTo("a cat");
        });
        assertThat(p.split("What answer: is it? ANSWER: 4")).hasValueSatisfying(qa -> assertThat(qa[1]).isEqualTo("4"));
        assertThat(p.split("No marker at all")).isEmpty();
        assertThat(p.split("Answer: 4")).as("no question").isEmpty();
        assertThat(p.split("Why? Answer: ")).as("no answer").isEmpty();
        assertThat(p.split("Why? Answer: " + "x".repeat(QaPrompts.MAX_ANSWER_CHARS + 1))).isEmpty();
        QaPrompts tiny = new QaPrompts("{images} new question answer :", "answer", "{images} {question}");
        assertThat(tiny.split("how many red shapes are there ? answer 2")).hasValueSatisfying(qa -> {
            assertThat(qa[0]).isEqualTo("how many red shapes are there ?");
            assertThat(qa[1]).isEqualTo("2");
        });
        assertThat(tiny.newQuestion(source("s", 1, Optional.empty()), "what <image> is it ?", "n").question())
                .isEqualTo("<image> what <image > is it ?");
        assertThatThrownBy(() -> new QaPrompts("write", "Answer:", "{images}{question}")).hasMessageContaining("{images}");
        assertThatThrownBy(() -> new QaPrompts("{images}", " ", "{images}{question}")).hasMessageContaining("marker");
    }
}
