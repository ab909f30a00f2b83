package io.github.mmupt.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.data.Provenance;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuestionSynthesizerTest {

    @TempDir
    Path dir;

    private static final SamplingParams WRITE = SamplingParams.builder().responsesPerPrompt(6).temperature(1.0).build();

    private static RgbImage image(int shade) {
        byte[] rgb = new byte[2 * 2 * 3];
        java.util.Arrays.fill(rgb, (byte) shade);
        return RgbImage.of(2, 2, rgb);
    }

    private static Example source(String id, String question, String gold) {
        return new Example(new Prompt(id, List.of(image(id.hashCode() & 0x7f)), "<image>" + question),
                Optional.ofNullable(gold), Optional.empty());
    }

    /** A sampler whose responses are given per prompt; answers are extracted from \boxed{}. */
    private static RolloutSampler scripted(Function<Prompt, List<String>> responses, List<Prompt> seen) {
        return (prompts, params, seed) -> {
            List<RolloutGroup> groups = new ArrayList<>();
            for (Prompt p : prompts) {
                seen.add(p);
                List<Rollout> rollouts = new ArrayList<>();
                for (String text : responses.apply(p)) {
                    rollouts.add(new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(), text,
                            AnswerExtractor.boxed().extract(text), FinishReason.STOP));
                }
                groups.add(new RolloutGroup(p, rollouts));
            }
            return groups;
        };
    }

    @Test
    void defaultPromptsAreBuiltAsDocumented() {
        Example s = source("a", "How many red shapes?", "3");
        SynthesisPrompts prompts = SynthesisPrompts.defaults();
        Prompt inContext = prompts.writerPrompt(SynthesisStrategy.IN_CONTEXT, s, Optional.of("3"), "w");
        assertThat(inContext.question()).isEqualTo("<image>Here is a question about the image and its answer.\n"
                + "Question: How many red shapes?\nAnswer: 3\nWrite one new question about the same image that is "
                + "different from this one and has a single, checkable answer. Reply with the new question only.");
        assertThat(inContext.images()).isEqualTo(s.prompt().images());
        Prompt direct = prompts.writerPrompt(SynthesisStrategy.DIRECT, s, Optional.empty(), "w");
        assertThat(direct.question()).startsWith("<image>Write one question about this image").doesNotContain("red");
        Prompt two = new Prompt("two", List.of(image(1), image(2)), "<image> vs <image> which is darker?");
        assertThat(prompts.withDirect("{images} new question :").writerPrompt(SynthesisStrategy.DIRECT,
                Example.unlabeled(two), Optional.empty(), "w").question()).isEqualTo("<image> <image> new question :");
        assertThat(prompts.newQuestion(s, "What colour is the disc?", "n").question()).isEqualTo("<image>What colour is the disc?");
        assertThat(SynthesisPrompts.questionText(two)).isEqualTo("vs which is darker?");
    }

    @Test
    void templatesMissingAPlaceholderAreRefused() {
        assertThatThrownBy(() -> SynthesisPrompts.defaults().withInContext("{images} {question} new question ?"))
                .hasMessageContaining("in-context template needs the placeholder {answer}");
        assertThatThrownBy(() -> SynthesisPrompts.defaults().withDirect("{images} rewrite {question}"))
                .hasMessageContaining("must not use {question}");
        assertThatThrownBy(() -> SynthesisPrompts.defaults().withNewQuestion("{question}"))
                .hasMessageContaining("needs the placeholder {images}");
    }

    @Test
    void filtersRemoveWhatTheyShouldAndCountIt() {
        Example a = source("a", "how many red shapes ?", null);
        Example b = source("b", "how many blue shapes ?", null);
        Map<String, List<String>> written = Map.of(
                "a#write", List.of("What colour is the largest shape?", "no question mark here", "Why?",
                        "How many RED shapes?", "what colour is the largest shape ?", "Is the disc blue?"),
                "b#write", List.of("What colour is the largest shape?", "x y z w ?", "How many blue shapes?",
                        "word ".repeat(70) + "?", "Are there discs?", "Are there squares?"));
        List<Prompt> seen = new ArrayList<>();
        SynthesisResult r = QuestionSynthesizer.builder().sampler(scripted(p -> written.get(p.id()), seen))
                .strategy(SynthesisStrategy.DIRECT).writing(WRITE).build().synthesize(List.of(a, b));
        SynthesisReport c = r.report();
        assertThat(c.candidates()).isEqualTo(12);
        assertThat(c.notAQuestion()).isEqualTo(1);        // "no question mark here"
        assertThat(c.outOfLength()).isEqualTo(2);         // "Why?" (1 word), 70 words
        assertThat(c.duplicateOfOriginal()).isEqualTo(2); // "How many RED shapes?", "How many blue shapes?"
        assertThat(c.duplicateOfKept()).isEqualTo(1);     // the largest shape, again, for image a
        assertThat(c.surplus()).isEqualTo(4);             // a: the disc; b: x y z w, discs, squares
        assertThat(c.kept()).isEqualTo(2);
        // per image, the same question about another image is not a duplicate
        assertThat(r.dataset().examples()).extracting(e -> e.prompt().question())
                .containsExactly("<image>What colour is the largest shape?", "<image>What colour is the largest shape?");
        Example first = r.dataset().examples().get(0);
        assertThat(first.prompt().images()).isEqualTo(a.prompt().images());
        assertThat(first.goldAnswer()).isEmpty();
        assertThat(first.provenance()).hasValue(new Provenance("direct", "a", "<image>how many red shapes ?",
                Optional.empty(), 0));
    }

    @Test
    void duplicatesAcrossImagesAndLooserSimilarityAreOptions() {
        Example a = source("a", "how many red shapes ?", null);
        Example b = source("b", "how many blue shapes ?", null);
        List<String> same = List.of("What colour is the largest shape?", "What colour is the smallest shape?");
        SynthesisResult r = QuestionSynthesizer.builder().sampler(scripted(p -> same, new ArrayList<>()))
                .strategy(SynthesisStrategy.DIRECT).writing(WRITE).questionsPerSource(2)
                .filters(SynthesisFilters.builder().duplicatesAcrossImages(true).maxSimilarity(0.7).build())
                .build().synthesize(List.of(a, b));
        // similarity of the two texts is 5/7 > 0.7: the second is a duplicate of the first; image b repeats image a
        assertThat(r.report().kept()).isEqualTo(1);
        assertThat(r.report().duplicateOfKept()).isEqualTo(3);
    }

    @Test
    void selfConsistencyKeepsQuestionsThePolicyAnswersConsistently() {
        Example a = source("a", "how many red shapes ?", null);
        List<Prompt> seen = new ArrayList<>();
        RolloutSampler sampler = scripted(p -> {
            if (p.id().endsWith("#write")) {
                return List.of("Is it hard to say?", "How many discs are there?");
            }
            return p.question().contains("hard")
                    ? List.of("\\boxed{1}", "\\boxed{2}", "\\boxed{3}", "\\boxed{1}")
                    : List.of("\\boxed{2}", "\\boxed{2}", "\\boxed{2}", "\\boxed{5}");
        }, seen);
        SynthesisResult r = QuestionSynthesizer.builder().sampler(sampler).strategy(SynthesisStrategy.DIRECT).writing(WRITE)
                .filters(SynthesisFilters.builder().selfConsistency(0.6, SamplingParams.builder().responsesPerPrompt(4)
                        .temperature(0.7).build()).build())
                .build().synthesize(List.of(a));
        assertThat(r.report().inconsistent()).isEqualTo(1);
        assertThat(r.report().kept()).isEqualTo(1);
        assertThat(r.dataset().examples().get(0).prompt().question()).isEqualTo("<image>How many discs are there?");
        assertThat(r.dataset().examples().get(0).provenance().orElseThrow().candidate()).isEqualTo(1);
        // the check asked the policy the new questions themselves
        assertThat(seen).extracting(Prompt::question).contains("<image>Is it hard to say?");
    }

    @Test
    void inContextShowsThePolicysOwnMajorityAnswerAndSkipsAbstentions() {
        Example a = source("a", "how many red shapes ?", "999");
        Example b = source("b", "how many blue shapes ?", "999");
        List<Prompt> seen = new ArrayList<>();
        RolloutSampler sampler = scripted(p -> {
            if (p.id().endsWith("#write")) {
                return List.of("What colour is the disc?");
            }
            return p.id().equals("a") ? List.of("\\boxed{4}", "\\boxed{4}", "\\boxed{3}") : List.of("no idea", "none");
        }, seen);
        SynthesisResult r = QuestionSynthesizer.builder().sampler(sampler).strategy(SynthesisStrategy.IN_CONTEXT)
                .writing(WRITE).build().synthesize(List.of(a, b));
        assertThat(r.report().sourcesWithoutAnswer()).isEqualTo(1);
        assertThat(r.report().kept()).isEqualTo(1);
        Prompt writer = seen.stream().filter(p -> p.id().equals("a#write")).findFirst().orElseThrow();
        assertThat(writer.question()).contains("Question: how many red shapes ?\nAnswer: 4").doesNotContain("999");
        assertThat(r.dataset().examples().get(0).provenance().orElseThrow().sourceAnswer()).hasValue("4");
    }

    @Test
    void goldAnswersAreShownOnlyWhenAskedFor() {
        Example a = source("a", "how many red shapes ?", "3");
        List<Prompt> seen = new ArrayList<>();
        RolloutSampler sampler = scripted(p -> List.of("What colour is the disc?"), seen);
        QuestionSynthesizer.builder().sampler(sampler).strategy(SynthesisStrategy.IN_CONTEXT).answerSource(AnswerSource.GOLD)
                .writing(WRITE).build().synthesize(List.of(a));
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).question()).contains("Answer: 3");
        assertThatThrownBy(() -> QuestionSynthesizer.builder().sampler(sampler).strategy(SynthesisStrategy.IN_CONTEXT)
                .answerSource(AnswerSource.GOLD).build().synthesize(List.of(source("n", "q ?", null))))
                .hasMessageContaining("example n has none");
    }

    @Test
    void provenanceSurvivesAJsonlRoundTrip() throws Exception {
        Example a = source("a", "how many red shapes ?", "3");
        RolloutSampler sampler = scripted(p -> p.id().endsWith("#write") ? List.of("What colour is the disc?")
                : List.of("\\boxed{3}"), new ArrayList<>());
        Dataset synthesized = QuestionSynthesizer.builder().sampler(sampler).strategy(SynthesisStrategy.IN_CONTEXT)
                .writing(WRITE).build().synthesize(List.of(a)).dataset();
        Path file = dir.resolve("in_context.jsonl");
        JsonlDataset.write(file, synthesized.examples());
        assertThat(Files.readString(file)).contains("\"synthesis\":{\"strategy\":\"in_context\",\"source_id\":\"a\"");
        Dataset read = JsonlDataset.reader().read(file);
        assertThat(read.examples()).isEqualTo(synthesized.examples());
        assertThat(read.examples().get(0).provenance().orElseThrow().sourceAnswer()).hasValue("3");
    }

    @Test
    void aMalformedProvenanceIsALineError() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"problem\": \"q?\", \"synthesis\": {\"strategy\": \"direct\"}}\n");
        assertThatThrownBy(() -> JsonlDataset.reader().read(file)).hasMessageStartingWith(file + ":1: ")
                .hasMessageContaining("source_id");
    }

    @Test
    void synthesisIsDeterministicUnderASeed() {
        List<Example> sources = List.of(source("a", "how many red shapes ?", null), source("b", "how many blue ?", null));
        RolloutSampler random = (prompts, params, seed) -> {
            List<RolloutGroup> groups = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                SplittableRandom rng = new SplittableRandom(seed * 31 + i);
                List<Rollout> rollouts = new ArrayList<>();
                for (int k = 0; k < params.responsesPerPrompt(); k++) {
                    String q = "is shape " + rng.nextInt(50) + " bigger than shape " + rng.nextInt(50) + " ?";
                    rollouts.add(new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(), q, Optional.empty(),
                            FinishReason.STOP));
                }
                groups.add(new RolloutGroup(prompts.get(i), rollouts));
            }
            return groups;
        };
        Function<Long, Dataset> run = seed -> QuestionSynthesizer.builder().sampler(random).strategy(SynthesisStrategy.DIRECT)
                .writing(WRITE).questionsPerSource(3).seed(seed).build().synthesize(sources).dataset();
        assertThat(run.apply(5L)).isEqualTo(run.apply(5L));
        assertThat(run.apply(5L)).isNotEqualTo(run.apply(6L));
    }
}
