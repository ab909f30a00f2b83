package io.github.mmupt.examples.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.eval.EvalResult;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.storage.AtomicFiles;
import io.github.mmupt.synth.QuestionSynthesizer;
import io.github.mmupt.synth.SynthesisFilters;
import io.github.mmupt.synth.SynthesisPrompts;
import io.github.mmupt.synth.SynthesisReport;
import io.github.mmupt.synth.SynthesisResult;
import io.github.mmupt.synth.SynthesisStrategy;
import io.github.mmupt.train.TrainingMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The paper's Table 2 in miniature: MM-UPT on the original questions of the unlabeled split, against MM-UPT on
 * questions the model wrote itself about the same images, by in-context and by direct synthesizing.
 *
 * <p>Per seed: the data and model of {@link EmbeddedDefault}; a stage-1 SFT base that learns to answer (the
 * labeled split's gold responses) and to write questions (for each labeled image, an in-context and a direct
 * writing prompt whose target is another question of the task, drawn at random); from that base, three MM-UPT
 * runs through {@link HostApplication}, on {@code unlabeled.jsonl}, {@code in_context.jsonl} and
 * {@code direct.jsonl} (the last two written by {@link QuestionSynthesizer} with the base model, one question per
 * unlabeled image, filtered to questions of the task and by self-consistency); each evaluated on the held-out
 * split. Prints the table and ends with {@code original=<acc> in_context=<acc> direct=<acc>} (means over seeds).
 */
public final class SynthesisDemo {

    /** The tiny model's question-writing prompts (its vocabulary has no room for the default templates). */
    public static final SynthesisPrompts PROMPTS = SynthesisPrompts.defaults()
            .withInContext("{images} {question} answer {answer} new question :")
            .withDirect("{images} new question :")
            .withNewQuestion("{images} {question}");

    private static final List<String> ROWS = List.of("base", "original", "in_context", "direct");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One seed: accuracies per row and what synthesis kept. */
    public record SeedResult(long seed, Map<String, EvalResult> rows, Map<String, SynthesisReport> synthesis) {
    }

    private SynthesisDemo() {
    }

    /**
     * SFT examples that teach writing questions: for each labeled example, an in-context prompt (its question and
     * gold answer) and a direct prompt, each with another question of the task as the target.
     */
    static List<Example> questionWriting(List<Example> labeled, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Example> out = new ArrayList<>();
        for (Example e : labeled) {
            String original = SynthesisPrompts.questionText(e.prompt());
            String other;
            do {
                other = ShapesTask.randomQuestion(rng);
            } while (other.equals(original));
            out.add(new Example(PROMPTS.writerPrompt(SynthesisStrategy.IN_CONTEXT, e, e.goldAnswer(), e.prompt().id() + "#ic"),
                    Optional.empty(), Optional.of(other)));
            out.add(new Example(PROMPTS.writerPrompt(SynthesisStrategy.DIRECT, e, Optional.empty(), e.prompt().id() + "#d"),
                    Optional.empty(), Optional.of(ShapesTask.randomQuestion(rng))));
        }
        return out;
    }

    public static List<SeedResult> run(Path out, long firstSeed, int seeds, EmbeddedDefault.Settings settings) throws IOException {
        long started = System.nanoTime();
        List<SeedResult> results = new ArrayList<>();
        for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
            results.add(runSeed(out.resolve("seed-" + seed), seed, settings));
        }
        printTable(results, settings);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("settings", settings);
        json.put("seeds", results);
        AtomicFiles.write(out.resolve("results-table2.json"), o -> JSON.writeValue(o, json));
        System.out.printf(Locale.ROOT, "finished in %.1f s; results in %s%n", (System.nanoTime() - started) / 1e9,
                out.toAbsolutePath());
        System.out.printf(Locale.ROOT, "original=%.3f in_context=%.3f direct=%.3f%n", mean(results, "original"),
                mean(results, "in_context"), mean(results, "direct"));
        return results;
    }

    static SeedResult runSeed(Path dir, long seed, EmbeddedDefault.Settings s) throws IOException {
        EmbeddedDefault.Prepared p = EmbeddedDefault.prepare(dir, seed, s);
        List<Example> stage1 = new ArrayList<>(p.labeled().examples());
        stage1.addAll(questionWriting(p.labeled().examples(), seed * 1000 + 4));
        Path baseModel = dir.resolve("base-model");
        AtomicFiles.deleteTree(baseModel);
        // three times the examples of Table 1's stage 1, so three times the steps
        EmbeddedDefault.train(p.model(), baseModel, Dataset.of("stage1", stage1), TrainingMode.SFT, 3L * s.sftSteps(),
                s.sftLearningRate(), s, seed, dir.resolve("stage1"));

        Map<String, EvalResult> rows = new LinkedHashMap<>();
        Map<String, SynthesisReport> synthesis = new LinkedHashMap<>();
        rows.put("base", EmbeddedDefault.evaluate(baseModel, p.test(), s, seed).accuracy());
        Map<String, Path> sources = new LinkedHashMap<>();
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sources.put("original", p.data().resolve("unlabeled.jsonl"));
        sizes.put("original", p.unlabeled().size());
        for (SynthesisStrategy strategy : SynthesisStrategy.values()) {
            SynthesisResult r = synthesize(baseModel, p.unlabeled().withoutLabels(), strategy, s, seed);
            synthesis.put(strategy.label(), r.report());
            Path file = p.data().resolve(strategy.label() + ".jsonl");
            JsonlDataset.write(file, r.dataset().examples());
            sources.put(strategy.label(), file);
            sizes.put(strategy.label(), r.dataset().size());
        }
        for (Map.Entry<String, Path> source : sources.entrySet()) {
            int size = sizes.get(source.getKey());
            if (size == 0) {
                // nothing passed the filters: there is nothing to train on, so the row is the base itself
                System.out.printf(Locale.ROOT, "seed %d: no %s question passed the filters; the row repeats the base%n", seed,
                        source.getKey());
                rows.put(source.getKey(), rows.get("base"));
                continue;
            }
            Path run = dir.resolve("upt-" + source.getKey());
            AtomicFiles.deleteTree(run);
            HostApplication.Settings h = EmbeddedDefault.hostSettings(s, seed);
            HostApplication.improve(baseModel, source.getValue(), run, h.withPromptsPerStep(Math.min(h.promptsPerStep(), size)));
            rows.put(source.getKey(), EmbeddedDefault.evaluate(run.resolve("model"), p.test(), s, seed).accuracy());
        }
        return new SeedResult(seed, rows, synthesis);
    }

    /** One question per unlabeled image, written by the base model and filtered. */
    static SynthesisResult synthesize(Path modelDir, Dataset unlabeled, SynthesisStrategy strategy,
            EmbeddedDefault.Settings s, long seed) throws IOException {
        SamplingParams answering = SamplingParams.builder().responsesPerPrompt(s.responses()).temperature(s.voteTemperature())
                .topP(1.0).maxNewTokens(s.maxNewTokens()).build();
        return EmbeddedDefault.withEvaluationSampler(modelDir, s, sampler -> QuestionSynthesizer.builder()
                .sampler(sampler)
                .strategy(strategy).prompts(PROMPTS)
                .writing(SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).topP(1.0)
                        .maxNewTokens(s.maxNewTokens()).build())
                .answering(answering)
                .filters(SynthesisFilters.builder().questionCheck(ShapesTask::isQuestion).words(5, 9)
                        .selfConsistency(s.minAgreement(), answering).build())
                .seed(seed * 1000 + 5)
                .build()
                .synthesize(unlabeled.examples()));
    }

    static double mean(List<SeedResult> results, String row) {
        return results.stream().mapToDouble(r -> r.rows().get(row).passAt1()).average().orElse(Double.NaN);
    }

    private static double spread(List<SeedResult> results, String row) {
        return EmbeddedDefault.sampleStd(results.stream().mapToDouble(r -> r.rows().get(row).passAt1()).toArray());
    }

    private static void printTable(List<SeedResult> results, EmbeddedDefault.Settings settings) {
        Map<String, String> names = Map.of("base", "Base (stage-1 SFT)", "original", "MM-UPT, original questions",
                "in_context", "MM-UPT, in-context synth.", "direct", "MM-UPT, direct synth.");
        System.out.println();
        System.out.printf(Locale.ROOT, "Table 2 in miniature: held-out accuracy, mean (std) over %d seed(s)%n", results.size());
        System.out.printf(Locale.ROOT, "%-28s %-16s %-14s %s%n", "",
                String.format(Locale.ROOT, "pass@1 (T=%.1f)", settings.passTemperature()), String.format(Locale.ROOT, "maj@%d (T=%.1f)", settings.voteN(), settings.voteTemperature()), "questions kept / written");
        for (String row : ROWS) {
            double maj = results.stream().mapToDouble(r -> r.rows().get(row).majorityAtN()).average().orElse(Double.NaN);
            String kept = "";
            if (results.get(0).synthesis().containsKey(row)) {
                kept = String.format(Locale.ROOT, "%.0f / %.0f",
                        results.stream().mapToInt(r -> r.synthesis().get(row).kept()).average().orElse(0),
                        results.stream().mapToInt(r -> r.synthesis().get(row).candidates()).average().orElse(0));
            }
            System.out.printf(Locale.ROOT, "%-28s %5.1f (%4.1f)      %5.1f         %s%n", names.get(row),
                    100 * mean(results, row), 100 * spread(results, row), 100 * maj, kept);
        }
        for (SeedResult r : results) {
            System.out.printf(Locale.ROOT, "seed %d: %s%n", r.seed(), r.synthesis());
        }
    }
}
