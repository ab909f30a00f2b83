package io.github.mmupt.examples.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.eval.EvalResult;
import io.github.mmupt.eval.Evaluator;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.KlEstimator;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.judge.JudgePrompt;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.judge.SamplerJudge;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.preference.ImageCorruption;
import io.github.mmupt.preference.PreferencePair;
import io.github.mmupt.preference.PreferencePairWriter;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.storage.AtomicFiles;
import io.github.mmupt.synth.QaPrompts;
import io.github.mmupt.synth.QaSynthesizer;
import io.github.mmupt.synth.SynthesisFilters;
import io.github.mmupt.synth.SynthesisPrompts;
import io.github.mmupt.synth.SynthesisResult;
import io.github.mmupt.train.DpoTrainer;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.ProgressLog;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The embedded default: the paper's Table 1 comparison in miniature, on a generated tiny vision-language model
 * and a synthetic counting task, from one command.
 *
 * <p>Per seed: generate the data (JSONL and PNG), the model (a designed trunk, see {@link DesignedTrunk}) and
 * a stage-1 SFT base from a small labeled split; then, from that base, (a) MM-UPT on an unlabeled split, using
 * the README's host-application code ({@link HostApplication}); (b) supervised GRPO on the same split with its
 * labels; (c) more SFT on the same split with its gold responses. Each is evaluated on a held-out split:
 * pass@1 of one sample at temperature 0.2 and majority@8 at the rollout temperature 0.5. Prints the table,
 * writes {@code results.json}
 * and {@code curves.png} under the output directory, and ends with
 * {@code base=<acc> sft=<acc> grpo=<acc> upt=<acc> upt_gain_share=<(upt-base)/(grpo-base)>} (means over seeds).
 *
 * <p>Arguments: {@code --out DIR} (default {@code mmupt-demo}), {@code --seeds N} (default 3),
 * {@code --first-seed S} (default 1), {@code --quick} (tiny budgets, for the smoke test), {@code --table 2} (the
 * Table 2 comparison of {@link SynthesisDemo} instead), {@code --continual} (the guarded continual run of
 * {@link ContinualDemo} instead), {@code --table 1-full} (also the unsupervised baselines SRLM, LMSI, Genixer and
 * STIC, each with its settings from {@link BaselineSettings#chosen()} unless overridden by its {@code --srlm-*},
 * {@code --lmsi-*}, {@code --genixer-*} or {@code --stic-*} options; {@code --rows} runs some rows beside the base;
 * it ends with {@code base=... sft=... grpo=... srlm=... lmsi=... genixer=... stic=... upt=... upt_gain_share=...}).
 */
public final class EmbeddedDefault {

    /**
     * The demo's sizes and hyperparameters; {@link #standard()} is what the README reports.
     *
     * @param labeled          labeled examples for stage-1 SFT (128)
     * @param unlabeled        unlabeled examples for MM-UPT, and labeled for the GRPO and SFT rows (256)
     * @param test             held-out examples (200)
     * @param sftSteps         stage-1 SFT steps (300), at {@code sftLearningRate} (0.01)
     * @param rlSteps          steps of each second-stage row (30), at {@code rlLearningRate} (0.001; SFT rows use
     *                         {@code sftLearningRate})
     * @param klBeta           KL to the base for MM-UPT and GRPO (0.01, MM-UPT's published value)
     * @param promptsPerStep   prompts per step (32)
     * @param responses        rollouts per prompt, N (16)
     * @param trainTemperature rollout and loss temperature (0.5)
     * @param minAgreement     vote share below which MM-UPT abstains on a prompt (0.5)
     * @param maxNewTokens     response length cap (12)
     * @param passTemperature  temperature of the pass@1 sample (0.2, as MM-UPT evaluates)
     * @param voteTemperature  temperature of the majority@N samples (0.5, the rollout temperature)
     * @param voteN            samples of majority@N (8)
     */
    public record Settings(int labeled, int unlabeled, int test, int sftSteps, double sftLearningRate, long rlSteps,
            double rlLearningRate, double klBeta, int promptsPerStep, int responses, double trainTemperature, double minAgreement,
            int maxNewTokens, double passTemperature, double voteTemperature, int voteN) {

        public static Settings standard() {
            return new Settings(128, 256, 200, 300, 0.01, 30, 0.001, 0.01, 32, 16, 0.5, 0.5, 12, 0.2, 0.5, 8);
        }

        /** Small budgets: the whole pipeline in a few seconds, numbers meaningless. */
        public static Settings quick() {
            return new Settings(16, 32, 16, 5, 0.01, 2, 0.001, 0.01, 16, 4, 0.5, 0.5, 12, 0.2, 0.5, 4);
        }
    }

    /**
     * One seed: pass@1 and majority@N of each row, the share of each way of looking among each row's pass@1-style
     * samples, and the training curves.
     */
    public record SeedResult(long seed, Map<String, EvalResult> rows, Map<String, Map<String, Double>> ways,
            Map<String, List<Map<String, Object>>> curves) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> HEAD_ROWS = List.of("base", "sft", "grpo", "upt");
    private static final List<String> ROWS = List.of("base", "sft", "grpo", "upt", "grpo_lora", "upt_lora");
    /** {@code --table 1-full}: every row the library has so far (issue 15 adds SRLM, Genixer and STIC). */
    private static final List<String> FULL_ROWS = List.of("base", "sft", "grpo", "srlm", "lmsi", "genixer", "stic",
            "upt");

    /**
     * Genixer's question-answer writing prompt in the miniature's vocabulary; the reply is the question, the word
     * {@code answer}, then the answer. Genixer's generator (a second stage-1 model) is taught it on the labeled
     * split: for each labeled image its own question and gold answer.
     */
    static final QaPrompts TINY_QA = new QaPrompts("{images} new question answer :", "answer", "{images} {question}");

    /**
     * SRLM's judging prompt in the miniature's vocabulary: the question, the response, then {@code answer :}, and
     * the digit the model writes after it read as a score from 0 to 9. The miniature's model was never taught to
     * judge (nor was the paper's, which is SRLM's premise: the policy's own judgment, untrained); what it writes
     * here is what its head makes of the prompt.
     */
    static final JudgePrompt TINY_JUDGE = new JudgePrompt("{images} {question} {response} answer :", 0, 9);

    /**
     * The unsupervised baselines' own settings (each chosen on seeds 1-3, README "Table 1 with every row").
     *
     * @param lmsiLearningRate LMSI's learning rate (cross-entropy on its own majority-agreeing responses, like SFT)
     * @param lmsiMinShare the vote share a group needs for LMSI to use its responses (the labeler's minAgreement)
     * @param srlmLearningRate SRLM's learning rate (GRPO with the policy's own judgments as rewards)
     * @param genixerLearningRate the learning rate of SFT on Genixer's self-written, self-consistent pairs
     * @param genixerMinShare the majority share a written pair's answer needs in the self-consistency check
     * @param sticLearningRate the learning rate of DPO on STIC's pairs
     * @param sticBeta DPO's beta
     * @param sticCorruption how STIC spoils the image of the dispreferred response
     * @param sticGoodTemperature the sampling temperature of the preferred response (the dispreferred one is sampled
     *                            at the rollout temperature)
     */
    public record BaselineSettings(double lmsiLearningRate, double lmsiMinShare, double srlmLearningRate,
            double genixerLearningRate, double genixerMinShare, double sticLearningRate, double sticBeta,
            ImageCorruption sticCorruption, double sticGoodTemperature) {

        /** {@return the settings chosen on seeds 1-3 (README: "Table 1 with every row")} */
        public static BaselineSettings chosen() {
            return new BaselineSettings(LMSI_LEARNING_RATE, LMSI_MIN_SHARE, SRLM_LEARNING_RATE, GENIXER_LEARNING_RATE,
                    GENIXER_MIN_SHARE, STIC_LEARNING_RATE, STIC_BETA, STIC_CORRUPTION, STIC_GOOD_TEMPERATURE);
        }
    }

    static final double LMSI_LEARNING_RATE = 0.001;
    static final double LMSI_MIN_SHARE = 0.5;
    static final double SRLM_LEARNING_RATE = 0.00003;
    static final double GENIXER_LEARNING_RATE = 0.001;
    static final double GENIXER_MIN_SHARE = 0.5;
    static final double STIC_LEARNING_RATE = 0.0003;
    static final double STIC_BETA = 0.1;
    static final ImageCorruption STIC_CORRUPTION = ImageCorruption.LOW_RESOLUTION;
    static final double STIC_GOOD_TEMPERATURE = 0.5;

    private EmbeddedDefault() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of("mmupt-demo");
        int seeds = 3;
        long firstSeed = 1;
        Settings settings = Settings.standard();
        String table = "1";
        boolean continual = false;
        boolean quick = false;
        double lmsiLr = LMSI_LEARNING_RATE;
        double lmsiShare = LMSI_MIN_SHARE;
        double srlmLr = SRLM_LEARNING_RATE;
        double genixerLr = GENIXER_LEARNING_RATE;
        double genixerShare = GENIXER_MIN_SHARE;
        double sticLr = STIC_LEARNING_RATE;
        double sticBeta = STIC_BETA;
        ImageCorruption sticCorruption = STIC_CORRUPTION;
        double sticGoodT = STIC_GOOD_TEMPERATURE;
        List<String> only = null;
        int loraRank = LORA_RANK;
        double loraAlpha = LORA_ALPHA;
        double loraLrScale = LORA_LR_SCALE;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--seeds" -> seeds = Integer.parseInt(args[++i]);
                case "--first-seed" -> firstSeed = Long.parseLong(args[++i]);
                case "--quick" -> {
                    settings = Settings.quick();
                    quick = true;
                }
                case "--continual" -> continual = true;
                case "--table" -> table = args[++i];
                case "--lmsi-lr" -> lmsiLr = Double.parseDouble(args[++i]);
                case "--lmsi-min-share" -> lmsiShare = Double.parseDouble(args[++i]);
                case "--srlm-lr" -> srlmLr = Double.parseDouble(args[++i]);
                case "--genixer-lr" -> genixerLr = Double.parseDouble(args[++i]);
                case "--genixer-min-share" -> genixerShare = Double.parseDouble(args[++i]);
                case "--stic-lr" -> sticLr = Double.parseDouble(args[++i]);
                case "--stic-beta" -> sticBeta = Double.parseDouble(args[++i]);
                case "--stic-corruption" -> sticCorruption = ImageCorruption.valueOf(args[++i]);
                case "--stic-good-temperature" -> sticGoodT = Double.parseDouble(args[++i]);
                case "--rows" -> only = List.of(args[++i].split(","));
                case "--lora-rank" -> loraRank = Integer.parseInt(args[++i]);
                case "--lora-alpha" -> loraAlpha = Double.parseDouble(args[++i]);
                case "--lora-lr-scale" -> loraLrScale = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --out DIR, --seeds N, --first-seed S, --quick, --table 1|1-full|2, --continual, "
                        + "--lmsi-lr X, --lmsi-min-share X, --srlm-lr X, --genixer-lr X, --genixer-min-share X, "
                        + "--stic-lr X, --stic-beta X, --stic-corruption ROTATE_CHANNELS|LOW_RESOLUTION, "
                        + "--stic-good-temperature T, --lora-rank R, --lora-alpha A, --lora-lr-scale X, "
                        + "--rows ROW,ROW (only these rows besides the base, for choosing settings))");
            }
        }
        LoraRows lora = new LoraRows(loraRank, loraAlpha, loraLrScale);
        if (only != null && !table.equals("1-full") && !table.equals("1")) {
            throw new IllegalArgumentException("--rows chooses rows of --table 1 or 1-full, got --table " + table);
        }
        if (continual) {
            ContinualDemo.run(out, firstSeed, seeds, settings,
                    quick ? ContinualDemo.Settings.quick() : ContinualDemo.Settings.standard());
        } else if (table.equals("2")) {
            SynthesisDemo.run(out, firstSeed, seeds, settings);
        } else if (table.equals("1")) {
            if (only == null) {
                run(out, firstSeed, seeds, settings, lora);
            } else {
                List<String> chosen = only;
                if (!ROWS.containsAll(chosen)) {
                    throw new IllegalArgumentException("--rows takes rows of " + ROWS + ", got " + chosen);
                }
                run(out, firstSeed, seeds, settings, Optional.empty(),
                        ROWS.stream().filter(r -> r.equals("base") || chosen.contains(r)).toList(), lora);
            }
        } else if (table.equals("1-full")) {
            List<String> rows = FULL_ROWS;
            if (only != null) {
                List<String> chosen = only;
                if (!FULL_ROWS.containsAll(chosen)) {
                    throw new IllegalArgumentException("--rows takes rows of " + FULL_ROWS + ", got " + chosen);
                }
                rows = FULL_ROWS.stream().filter(r -> r.equals("base") || chosen.contains(r)).toList();
            }
            run(out, firstSeed, seeds, settings, Optional.of(new BaselineSettings(lmsiLr, lmsiShare, srlmLr, genixerLr,
                    genixerShare, sticLr, sticBeta, sticCorruption, sticGoodT)), rows, lora);
        } else {
            throw new IllegalArgumentException("--table is 1 (Table 1: base, SFT, GRPO, MM-UPT), 1-full (with the "
                    + "unsupervised baselines) or 2 (Table 2: synthesized questions), got " + table);
        }
    }

    /**
     * Runs every seed and writes Table 1 with every row the library has (the unsupervised baselines with
     * {@code baselines}), its JSON and curves; returns the per-seed results.
     *
     * @param out where to write
     * @param firstSeed the first seed
     * @param seeds how many
     * @param settings the miniature's settings
     * @param baselines the unsupervised baselines' settings
     * @return the per-seed results
     * @throws IOException when writing fails
     */
    public static List<SeedResult> run(Path out, long firstSeed, int seeds, Settings settings, BaselineSettings baselines)
            throws IOException {
        return run(out, firstSeed, seeds, settings, Optional.of(baselines), FULL_ROWS, LoraRows.chosen());
    }

    /** Runs every seed and writes the table, JSON and curves; returns the per-seed results. */
    public static List<SeedResult> run(Path out, long firstSeed, int seeds, Settings settings) throws IOException {
        return run(out, firstSeed, seeds, settings, Optional.empty(), ROWS, LoraRows.chosen());
    }

    /**
     * Runs every seed of Table 1 (with the LoRA rows' settings given) and writes the table, JSON and curves.
     *
     * @param out where to write
     * @param firstSeed the first seed
     * @param seeds how many
     * @param settings the miniature's settings
     * @param lora the LoRA rows' rank, alpha and learning-rate scale
     * @return the per-seed results
     * @throws IOException when writing fails
     */
    public static List<SeedResult> run(Path out, long firstSeed, int seeds, Settings settings, LoraRows lora)
            throws IOException {
        return run(out, firstSeed, seeds, settings, Optional.empty(), ROWS, lora);
    }

    /**
     * The LoRA rows' adapters: every projection of every decoder layer ("LoRA Without Regret"), rank and alpha,
     * and the adapters' learning rate over the head's.
     *
     * @param rank r
     * @param alpha alpha
     * @param learningRateScale the adapters' learning rate over the head's
     */
    public record LoraRows(int rank, double alpha, double learningRateScale) {

        /** {@return the settings the README reports, chosen on seeds 1-3} */
        public static LoraRows chosen() {
            return new LoraRows(LORA_RANK, LORA_ALPHA, LORA_LR_SCALE);
        }
    }

    static final int LORA_RANK = 1;
    static final double LORA_ALPHA = 32;
    // chosen on seeds 1-3 among 1 .. 3e-5: the designed trunk's gradients are about 10^4 times the head's, and
    // larger adapter steps break its circuits (README, Table 1)
    static final double LORA_LR_SCALE = 3e-5;

    private static List<SeedResult> run(Path out, long firstSeed, int seeds, Settings settings,
            Optional<BaselineSettings> baselines, List<String> rows, LoraRows lora) throws IOException {
        long started = System.nanoTime();
        List<SeedResult> results = new ArrayList<>();
        for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
            results.add(runSeed(out.resolve("seed-" + seed), seed, settings, baselines, rows, lora));
        }
        printTable(results, settings, rows);
        writeResults(out, results, settings, rows);
        if (!rows.containsAll(HEAD_ROWS)) {
            // a settings search over some rows: their means only
            System.out.println(rows.stream().map(r -> String.format(Locale.ROOT, "%s=%.3f", r, mean(results, r)))
                    .collect(java.util.stream.Collectors.joining(" ")));
            return results;
        }
        Curves.write(out.resolve("curves.png"), results, settings.rlSteps());
        System.out.printf(Locale.ROOT, "finished in %.1f s; results in %s%n", (System.nanoTime() - started) / 1e9,
                out.toAbsolutePath());
        double base = mean(results, "base");
        double grpo = mean(results, "grpo");
        double upt = mean(results, "upt");
        if (baselines.isPresent()) {
            System.out.printf(Locale.ROOT, "base=%.3f sft=%.3f grpo=%.3f srlm=%.3f lmsi=%.3f genixer=%.3f stic=%.3f "
                    + "upt=%.3f upt_gain_share=%.2f%n", base, mean(results, "sft"), grpo, mean(results, "srlm"),
                    mean(results, "lmsi"), mean(results, "genixer"), mean(results, "stic"), upt,
                    gainShare(base, grpo, upt));
        } else {
            // LoRA-UPT's gain is measured against the better supervised row, head-only or LoRA
            double bestGrpo = Math.max(grpo, mean(results, "grpo_lora"));
            double uptLora = mean(results, "upt_lora");
            System.out.printf(Locale.ROOT, "base=%.3f sft=%.3f grpo=%.3f upt=%.3f upt_gain_share=%.2f grpo_lora=%.3f "
                    + "upt_lora=%.3f upt_lora_gain_share=%.2f%n", base, mean(results, "sft"), grpo, upt,
                    gainShare(base, grpo, upt), mean(results, "grpo_lora"), uptLora, gainShare(base, bestGrpo, uptLora));
        }
        return results;
    }

    /** A row's gain over the base as a share of supervised GRPO's. */
    private static double gainShare(double base, double grpo, double row) {
        // with no GRPO gain the share is undefined: NaN, not an infinity that reads like a result
        return Math.abs(grpo - base) < 1e-12 ? Double.NaN : (row - base) / (grpo - base);
    }

    /** One seed's data (as JSONL + PNG, read back through the library's reader) and generated model. */
    record Prepared(Path data, Dataset labeled, Dataset unlabeled, List<Example> test, Path model) {
    }

    static Prepared prepare(Path dir, long seed, Settings s) throws IOException {
        Path data = dir.resolve("data");
        JsonlDataset.write(data.resolve("labeled.jsonl"), ShapesTask.generate("labeled", s.labeled(), seed * 1000 + 1));
        JsonlDataset.write(data.resolve("unlabeled.jsonl"), ShapesTask.generate("unlabeled", s.unlabeled(), seed * 1000 + 2));
        JsonlDataset.write(data.resolve("test.jsonl"), ShapesTask.generate("test", s.test(), seed * 1000 + 3));
        VocabularyTokenizer tokenizer = VocabularyTokenizer.of(ShapesTask.vocabulary());
        TinyVlmConfig config = DesignedTrunk.config(tokenizer.vocabSize());
        Path model = dir.resolve("model");
        AtomicFiles.deleteTree(model);
        TinyVlmBuilder.write(model, config, DesignedTrunk.weights(config, tokenizer, seed), tokenizer);
        return new Prepared(data, JsonlDataset.reader().read(data.resolve("labeled.jsonl")),
                JsonlDataset.reader().read(data.resolve("unlabeled.jsonl")),
                JsonlDataset.reader().read(data.resolve("test.jsonl")).examples(), model);
    }

    static SeedResult runSeed(Path dir, long seed, Settings s, Optional<BaselineSettings> baselines, List<String> rows,
            LoraRows lora) throws IOException {
        Prepared p = prepare(dir, seed, s);
        Map<String, Path> models = new LinkedHashMap<>();
        Map<String, List<Map<String, Object>>> curves = new LinkedHashMap<>();
        Path baseModel = dir.resolve("base-model");
        AtomicFiles.deleteTree(baseModel);
        train(p.model(), baseModel, p.labeled(), TrainingMode.SFT, s.sftSteps(), s.sftLearningRate(), s, seed,
                dir.resolve("stage1"));
        models.put("base", baseModel);

        if (rows.contains("upt")) {
            Path uptRun = dir.resolve("upt");
            AtomicFiles.deleteTree(uptRun);
            HostApplication.improve(baseModel, p.data().resolve("unlabeled.jsonl"), uptRun, hostSettings(s, seed));
            models.put("upt", uptRun.resolve("model"));
            curves.put("upt", readMetrics(uptRun.resolve("metrics.jsonl")));
        }
        if (rows.contains("grpo")) {
            Path grpoRun = dir.resolve("grpo");
            AtomicFiles.deleteTree(grpoRun);
            train(baseModel, grpoRun.resolve("model"), p.unlabeled(), TrainingMode.SUPERVISED_GRPO, s.rlSteps(),
                    s.rlLearningRate(), s, seed, grpoRun);
            models.put("grpo", grpoRun.resolve("model"));
            curves.put("grpo", readMetrics(grpoRun.resolve("metrics.jsonl")));
        }
        for (String row : List.of("upt_lora", "grpo_lora")) {
            if (rows.contains(row)) {
                Path run = dir.resolve(row);
                AtomicFiles.deleteTree(run);
                TrainingMode mode = row.equals("upt_lora") ? TrainingMode.UPT : TrainingMode.SUPERVISED_GRPO;
                LoraSettings adapters = LoraSettings.builder().rank(lora.rank()).alpha(lora.alpha())
                        .learningRateScale(lora.learningRateScale()).seed(seed).build();
                // the same data, seed, steps and head settings as the head-only rows: only the adapters differ
                train(baseModel, run.resolve("model"), p.unlabeled(), mode, s.rlSteps(), s.rlLearningRate(),
                        s.minAgreement(), s, seed, run, Optional.of(adapters));
                models.put(row, run.resolve("model"));
                curves.put(row, readMetrics(run.resolve("metrics.jsonl")));
            }
        }
        if (rows.contains("sft")) {
            Path sftRun = dir.resolve("sft");
            AtomicFiles.deleteTree(sftRun);
            train(baseModel, sftRun.resolve("model"), p.unlabeled(), TrainingMode.SFT, s.rlSteps(), s.sftLearningRate(),
                    s, seed, sftRun);
            models.put("sft", sftRun.resolve("model"));
        }
        if (rows.contains("lmsi")) {
            Path lmsiRun = dir.resolve("lmsi");
            AtomicFiles.deleteTree(lmsiRun);
            train(baseModel, lmsiRun.resolve("model"), p.unlabeled(), TrainingMode.LMSI, s.rlSteps(),
                    baselines.get().lmsiLearningRate(), baselines.get().lmsiMinShare(), s, seed, lmsiRun);
            models.put("lmsi", lmsiRun.resolve("model"));
            curves.put("lmsi", readMetrics(lmsiRun.resolve("metrics.jsonl")));
        }
        if (rows.contains("srlm")) {
            Path srlmRun = dir.resolve("srlm");
            AtomicFiles.deleteTree(srlmRun);
            train(baseModel, srlmRun.resolve("model"), p.unlabeled(), TrainingMode.SRLM, s.rlSteps(),
                    baselines.get().srlmLearningRate(), s.minAgreement(), s, seed, srlmRun);
            models.put("srlm", srlmRun.resolve("model"));
            curves.put("srlm", readMetrics(srlmRun.resolve("metrics.jsonl")));
        }
        if (rows.contains("genixer")) {
            Path genixerRun = dir.resolve("genixer");
            AtomicFiles.deleteTree(genixerRun);
            Path writer = trainGenixerWriter(p, dir, s, seed);
            SynthesisResult pairs = writePairs(writer, p.unlabeled().withoutLabels(), baselines.get(), s, seed);
            JsonlDataset.write(genixerRun.resolve("pairs.jsonl"), pairs.dataset().examples());
            if (pairs.dataset().size() == 0) {
                System.out.printf(Locale.ROOT, "seed %d: no Genixer pair passed the filters; the row repeats the "
                        + "base%n", seed);
                models.put("genixer", baseModel);
            } else {
                train(baseModel, genixerRun.resolve("model"), pairs.dataset(), TrainingMode.SFT, s.rlSteps(),
                        baselines.get().genixerLearningRate(), s, seed, genixerRun);
                models.put("genixer", genixerRun.resolve("model"));
            }
        }
        if (rows.contains("stic")) {
            Path sticRun = dir.resolve("stic");
            AtomicFiles.deleteTree(sticRun);
            Files.createDirectories(sticRun);
            List<PreferencePair> prefs = withEvaluationSampler(baseModel, s, sampler -> PreferencePairWriter.builder()
                    .sampler(sampler).goodPrompt("{images} {question}").poorPrompt("{images} {question}")
                    .corruption(baselines.get().sticCorruption())
                    .sampling(SamplingParams.builder().responsesPerPrompt(1)
                            .temperature(baselines.get().sticGoodTemperature()).topP(1.0).maxNewTokens(s.maxNewTokens())
                            .build())
                    .poorSampling(SamplingParams.builder().responsesPerPrompt(1).temperature(s.voteTemperature()).topP(1.0)
                            .maxNewTokens(s.maxNewTokens()).build())
                    .seed(seed * 1000 + 7).build().write(p.unlabeled().withoutLabels().examples()));
            dpo(baseModel, sticRun.resolve("model"), prefs, baselines.get(), s, seed);
            models.put("stic", sticRun.resolve("model"));
        }

        Map<String, EvalResult> accuracy = new LinkedHashMap<>();
        Map<String, Map<String, Double>> ways = new LinkedHashMap<>();
        for (String row : rows) {
            RowEvaluation e = evaluate(models.get(row), p.test(), s, seed);
            accuracy.put(row, e.accuracy());
            ways.put(row, e.waysOfLooking());
        }
        return new SeedResult(seed, accuracy, ways, curves);
    }

    /**
     * Genixer's generator: like Genixer's, a model tuned to write data; here stage 1 again with, for each labeled
     * image, a writing prompt whose target is its own question and gold answer (the same labels as the base's,
     * nothing more: twice the examples, so twice the steps). It only writes and checks the data; the SFT on the
     * kept pairs starts from the base, as every other row does.
     */
    static Path trainGenixerWriter(Prepared p, Path dir, Settings s, long seed) throws IOException {
        Path writer = dir.resolve("genixer-writer");
        AtomicFiles.deleteTree(writer);
        List<Example> writing = new ArrayList<>(p.labeled().examples());
        for (Example e : p.labeled().examples()) {
            String target = SynthesisPrompts.questionText(e.prompt()) + " answer " + e.goldAnswer().orElseThrow();
            writing.add(new Example(TINY_QA.writerPrompt(e, e.prompt().id() + "#qa"), Optional.empty(),
                    Optional.of(target)));
        }
        train(p.model(), writer, Dataset.of("genixer-writer", writing), TrainingMode.SFT, 2L * s.sftSteps(),
                s.sftLearningRate(), s, seed, dir.resolve("genixer-writer-run"));
        return writer;
    }

    /**
     * Genixer's data: for each unlabeled image, up to one question-answer pair written by the generator (4
     * candidates at temperature 1), kept when it is a question of the task and the model's own majority over N
     * answers at the rollout temperature holds {@code genixerMinShare} and equals the written answer.
     */
    static SynthesisResult writePairs(Path modelDir, Dataset unlabeled, BaselineSettings b, Settings s, long seed)
            throws IOException {
        SamplingParams answering = SamplingParams.builder().responsesPerPrompt(s.responses()).temperature(s.voteTemperature())
                .topP(1.0).maxNewTokens(s.maxNewTokens()).build();
        return withEvaluationSampler(modelDir, s, sampler -> QaSynthesizer.builder().sampler(sampler).prompts(TINY_QA)
                .writing(SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).topP(1.0)
                        .maxNewTokens(s.maxNewTokens()).build())
                .selfConsistency(b.genixerMinShare(), answering)
                .filters(SynthesisFilters.builder().questionCheck(ShapesTask::isQuestion).words(5, 9).build())
                .seed(seed * 1000 + 6)
                .build()
                .synthesize(unlabeled.examples()));
    }

    /**
     * A model's held-out accuracy, and how often its graded pass@1 responses start with each way of looking.
     */
    record RowEvaluation(EvalResult accuracy, Map<String, Double> waysOfLooking) {
    }

    /** pass@1 and majority@N of a model directory's head on the test examples, from one load of the model. */
    static RowEvaluation evaluate(Path modelDir, List<Example> test, Settings s, long seed) throws IOException {
        Map<String, Double> shares = new LinkedHashMap<>();
        EvalResult accuracy = withEvaluationSampler(modelDir, s, sampler -> new Evaluator(sampler,
                AnswerEquivalence.standard()).evaluate(test, s.passTemperature(), s.voteN(), s.voteTemperature(),
                s.maxNewTokens(), seed * 7919, passSamples -> {
                    for (String way : ShapesTask.METHODS) {
                        long n = passSamples.stream().filter(g -> g.rollouts().get(0).text().startsWith(way + " ")).count();
                        shares.put(way, n / (double) passSamples.size());
                    }
                }));
        return new RowEvaluation(accuracy, shares);
    }

    /**
     * Opens a model directory for sampling only, with a frozen head (no optimizer), and applies {@code use} to a
     * sampler that accepts any temperature.
     */
    static <T> T withEvaluationSampler(Path modelDir, Settings s, Function<RolloutSampler, T> use) throws IOException {
        try (OnnxPolicy policy = OnnxPolicy.open(modelDir, PolicyOptions.defaults());
                HeadScorer head = HeadOptimizers.scorer(policy.initialHead(), s.trainTemperature(),
                        KernelOptions.defaults())) {
            return use.apply(KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed()));
        }
    }

    /** The MM-UPT settings the host example runs with. */
    static HostApplication.Settings hostSettings(Settings s, long seed) {
        return new HostApplication.Settings(s.trainTemperature(), s.rlLearningRate(), s.klBeta(), s.responses(),
                s.maxNewTokens(), s.minAgreement(), s.rlSteps(), s.promptsPerStep(), seed);
    }

    /**
     * STIC's second stage: DPO on the preference pairs from the base head, the base itself as the reference
     * policy, {@code rlSteps} steps of {@code promptsPerStep} pairs.
     */
    static void dpo(Path modelDir, Path exportTo, List<PreferencePair> pairs, BaselineSettings b, Settings s, long seed)
            throws IOException {
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(s.trainTemperature()).kl(KlPenalty.none()).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(b.sticLearningRate()).weightDecay(0).build();
        try (OnnxPolicy policy = OnnxPolicy.open(modelDir, PolicyOptions.defaults());
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, adamW, KernelOptions.defaults());
                HeadScorer reference = HeadOptimizers.scorer(policy.initialHead(), s.trainTemperature(),
                        KernelOptions.defaults())) {
            if (pairs.isEmpty()) {
                policy.exportModel(exportTo, policy.initialHead());
                return;
            }
            DpoTrainer.Result r = DpoTrainer.builder().policy(policy).optimizer(head).reference(reference).pairs(pairs)
                    .beta(b.sticBeta()).steps(s.rlSteps()).pairsPerStep(Math.min(s.promptsPerStep(), pairs.size()))
                    .seed(seed).build().run();
            DpoTrainer.Step first = r.steps().get(0);
            DpoTrainer.Step last = r.steps().get(r.steps().size() - 1);
            System.out.printf(Locale.ROOT, "stic: %d pairs, DPO loss %.3f -> %.3f, accuracy %.2f -> %.2f%n", pairs.size(),
                    first.loss(), last.loss(), first.accuracy(), last.accuracy());
            policy.exportModel(exportTo, r.finalHead());
        }
    }

    /** Trains the head of {@code modelDir} in one mode and exports the result as a model directory. */
    static void train(Path modelDir, Path exportTo, Dataset data, TrainingMode mode, long steps, double lr, Settings s,
            long seed, Path runDir) throws IOException {
        train(modelDir, exportTo, data, mode, steps, lr, s.minAgreement(), s, seed, runDir, Optional.empty());
    }

    /** A training run from {@code modelDir}, exported to {@code exportTo}; the labeler abstains below {@code minShare}. */
    static void train(Path modelDir, Path exportTo, Dataset data, TrainingMode mode, long steps, double lr,
            double minShare, Settings s, long seed, Path runDir) throws IOException {
        train(modelDir, exportTo, data, mode, steps, lr, minShare, s, seed, runDir, Optional.empty());
    }

    /**
     * A training run from {@code modelDir}, exported to {@code exportTo} (with LoRA adapters on the decoder, trained
     * with the head and merged into the exported weights, when {@code lora} is given).
     */
    static void train(Path modelDir, Path exportTo, Dataset data, TrainingMode mode, long steps, double lr,
            double minShare, Settings s, long seed, Path runDir, Optional<LoraSettings> lora) throws IOException {
        // cross-entropy modes (SFT, and LMSI on its own responses) train without the KL term, as SFT does
        boolean crossEntropy = mode == TrainingMode.SFT || mode == TrainingMode.LMSI;
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(s.trainTemperature())
                .kl(crossEntropy ? KlPenalty.none() : new KlPenalty(s.klBeta(), KlEstimator.K3, true)).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(lr).weightDecay(0).build();
        PolicyOptions options = lora.map(PolicyOptions.defaults()::withLora).orElse(PolicyOptions.defaults());
        try (OnnxPolicy policy = OnnxPolicy.open(modelDir, options);
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, adamW, KernelOptions.defaults())) {
            MmUpt.Builder b = MmUpt.builder().policy(policy).optimizer(head).data(data).mode(mode).steps(steps)
                    .promptsPerStep(Math.min(s.promptsPerStep(), data.size())).seed(seed)
                    .listener(new MetricsFile(runDir.resolve("metrics.jsonl")))
                    .listener(new ProgressLog(mode.name().toLowerCase(Locale.ROOT)));
            if (mode != TrainingMode.SFT) {
                b.sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed()))
                        .sampling(SamplingParams.builder().responsesPerPrompt(s.responses()).temperature(s.trainTemperature())
                                .topP(1.0).maxNewTokens(s.maxNewTokens()).build())
                        .labeler(MajorityVoteLabeler.builder().minAgreement(minShare).build());
            }
            if (mode == TrainingMode.SRLM) {
                // the policy judges its own responses with the head being trained: one judgment at T = 0.2
                b.judge(JudgeReward.only(SamplerJudge.builder().prompt(TINY_JUDGE)
                        .sampler(KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed()))
                        .judging(SamplingParams.builder().responsesPerPrompt(1).temperature(0.2).topP(1.0).maxNewTokens(2)
                                .build()).build()));
            }
            RunResult result = b.build().run();
            policy.exportModel(exportTo, result.finalHead());
        }
    }

    private static List<Map<String, Object>> readMetrics(Path file) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> m = JSON.readValue(line, Map.class);
                out.add(m);
            }
        }
        return out;
    }

    static double mean(List<SeedResult> results, String row) {
        return results.stream().mapToDouble(r -> r.rows().get(row).passAt1()).average().orElse(Double.NaN);
    }

    static double spread(List<SeedResult> results, String row) {
        return sampleStd(results.stream().mapToDouble(r -> r.rows().get(row).passAt1()).toArray());
    }

    /** Sample standard deviation (n - 1); 0 for a single value. */
    static double sampleStd(double[] values) {
        double m = java.util.Arrays.stream(values).average().orElse(Double.NaN);
        double ss = java.util.Arrays.stream(values).map(v -> (v - m) * (v - m)).sum();
        return values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0.0;
    }

    private static void printTable(List<SeedResult> results, Settings settings, List<String> rowNames) {
        Map<String, String> names = Map.of("base", "Base (stage-1 SFT)", "sft", "+ SFT (labels)", "grpo",
                "+ GRPO (labels)", "lmsi", "+ LMSI (no labels)", "srlm", "+ SRLM (no labels)", "genixer",
                "+ Genixer (no labels)", "stic", "+ STIC (no labels)", "upt", "+ MM-UPT (no labels)", "grpo_lora",
                "+ GRPO (LoRA, all layers)", "upt_lora", "+ MM-UPT (LoRA, all layers)");
        System.out.println();
        System.out.printf(Locale.ROOT, "Table 1 in miniature: held-out accuracy, mean (std) over %d seed(s)%n", results.size());
        System.out.printf(Locale.ROOT, "%-27s %-16s %-15s %s%n", "",
                String.format(Locale.ROOT, "pass@1 (T=%.1f)", settings.passTemperature()),
                String.format(Locale.ROOT, "maj@%d (T=%.1f)", settings.voteN(), settings.voteTemperature()),
                "ways of looking % (" + String.join("/", ShapesTask.METHODS) + ")");
        for (String row : rowNames) {
            double m = mean(results, row);
            double sd = spread(results, row);
            double maj = results.stream().mapToDouble(r -> r.rows().get(row).majorityAtN()).average().orElse(Double.NaN);
            StringBuilder ways = new StringBuilder();
            for (String way : ShapesTask.METHODS) {
                double share = results.stream().mapToDouble(r -> r.ways().get(row).get(way)).average().orElse(Double.NaN);
                ways.append(ways.length() == 0 ? "" : "/").append(String.format(Locale.ROOT, "%.0f", 100 * share));
            }
            System.out.printf(Locale.ROOT, "%-27s %5.1f (%4.1f)      %5.1f           %s%n", names.get(row), 100 * m, 100 * sd,
                    100 * maj, ways);
        }
        System.out.println("per seed (pass@1): " + results.stream().map(r -> "seed " + r.seed() + rowNames.stream()
                .map(row -> String.format(Locale.ROOT, " %s %.3f", row, r.rows().get(row).passAt1()))
                .collect(java.util.stream.Collectors.joining())).toList());
    }

    private static void writeResults(Path out, List<SeedResult> results, Settings settings, List<String> rowNames)
            throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("settings", settings);
        List<Map<String, Object>> seeds = new ArrayList<>();
        for (SeedResult r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seed", r.seed());
            m.put("rows", r.rows());
            m.put("ways_of_looking", r.ways());
            seeds.add(m);
        }
        json.put("seeds", seeds);
        Map<String, Object> summary = new LinkedHashMap<>();
        for (String row : rowNames) {
            summary.put(row, Map.of("pass_at_1_mean", mean(results, row), "pass_at_1_std", spread(results, row)));
        }
        json.put("summary", summary);
        AtomicFiles.write(out.resolve("results.json"), o -> JSON.writeValue(o, json));
    }
}
