package io.github.mmupt.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.data.Example;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.synth.SynthesisPrompts;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthesisDemoTest {

    @TempDir
    Path out;

    @Test
    void theTaskQuestionParserAcceptsExactlyTheTemplates() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < 50; i++) {
            String q = ShapesTask.randomQuestion(rng);
            assertThat(ShapesTask.isQuestion(q)).as(q).isTrue();
            assertThat(ShapesTask.isQuestion(q.replace(" ?", "?"))).as("decoded spacing").isTrue();
        }
        assertThat(ShapesTask.isQuestion("how many blue and red shapes are there ?")).as("order").isFalse();
        assertThat(ShapesTask.isQuestion("how many red and red shapes are there ?")).isFalse();
        assertThat(ShapesTask.isQuestion("how many shapes are there ?")).isFalse();
        assertThat(ShapesTask.isQuestion("how many red shapes are there")).isFalse();
    }

    @Test
    void questionWritingExamplesUseTheTemplatesAndAnotherQuestion() {
        List<Example> labeled = ShapesTask.generate("l", 6, 9);
        List<Example> writing = SynthesisDemo.questionWriting(labeled, 1);
        assertThat(writing).hasSize(12);
        Example inContext = writing.get(0);
        String original = SynthesisPrompts.questionText(labeled.get(0).prompt());
        assertThat(inContext.prompt().question()).isEqualTo("<image> " + original + " answer "
                + labeled.get(0).goldAnswer().orElseThrow() + " new question :");
        assertThat(inContext.goldResponse().orElseThrow()).isNotEqualTo(original).satisfies(q ->
                assertThat(ShapesTask.isQuestion(q)).isTrue());
        assertThat(writing.get(1).prompt().question()).isEqualTo("<image> new question :");
        assertThat(inContext.prompt().images()).isEqualTo(labeled.get(0).prompt().images());
    }

    @Test
    void quickRunPrintsTable2AndWritesSynthesizedDataWithProvenance() throws Exception {
        List<SynthesisDemo.SeedResult> results = SynthesisDemo.run(out, 2, 1, EmbeddedDefault.Settings.quick());
        assertThat(results.get(0).rows()).containsOnlyKeys("base", "original", "in_context", "direct");
        assertThat(results.get(0).synthesis()).containsOnlyKeys("in_context", "direct");
        assertThat(results.get(0).synthesis().get("direct").candidates()).isEqualTo(4 * 32);
        assertThat(out.resolve("results-table2.json")).isRegularFile();
        List<Example> direct = JsonlDataset.reader().read(out.resolve("seed-2/data/direct.jsonl")).examples();
        assertThat(direct).hasSize(results.get(0).synthesis().get("direct").kept());
        direct.forEach(e -> assertThat(e.provenance().orElseThrow().strategy()).isEqualTo("direct"));
    }
}
