package io.github.mmupt.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.StepPhase;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.storage.AtomicFiles;
import io.github.mmupt.vote.VoteSummary;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Appends one JSON object per step to a file (JSON Lines), flushed each step so a crash loses at most the step
 * being written. Keys: step, reward_mean, vote_share, answer_rate, distinct_answers, abstained, label_accuracy,
 * reward_accuracy (null without gold answers), loss, policy_loss, kl_loss, kl_mean, ppo_kl (mean log pi_old - log pi,
 * MM-UPT's drift statistic), clip_high, clip_low,
 * clip_dual, entropy, responses, response_length, mean_log_prob (in SFT, minus the cross-entropy), tokens_per_second,
 * updates, skipped_updates, grad_norm, and
 * seconds per phase (rollout, vote, score, update).
 */
public final class MetricsFile implements StepListener, AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private BufferedWriter out;

    /**
     * Appends to {@code file} (created with its directories).
     *
     * @param file the metrics file
     * @throws IOException when it cannot be opened
     */
    public MetricsFile(Path file) throws IOException {
        this.file = file;
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out = open(file);
    }

    private static BufferedWriter open(Path file) throws IOException {
        return Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /** {@return the metrics file} */
    public Path file() {
        return file;
    }

    /**
     * The flat map written for one step (NaN and missing values as null).
     *
     * @param s a step's statistics
     * @return the metrics by key
     */
    public static Map<String, Object> toMap(StepStats s) {
        Map<String, Object> m = new LinkedHashMap<>();
        VoteSummary v = s.votes();
        LossMetrics l = s.loss();
        m.put("step", s.step());
        m.put("reward_mean", number(s.rewardMean()));
        m.put("vote_share", v.prompts() == 0 ? null : v.meanVoteShare());
        m.put("answer_rate", v.prompts() == 0 ? null : v.answerRate());
        m.put("distinct_answers", v.prompts() == 0 ? null : v.meanDistinctAnswers());
        m.put("abstained", v.prompts() == 0 ? null : v.abstainedShare());
        m.put("label_accuracy", optional(v.labelAccuracy()));
        m.put("reward_accuracy", optional(v.rewardAccuracy()));
        m.put("judge_scored_share", s.judge().map(j -> (Object) j.scoredShare()).orElse(null));
        m.put("judge_score_mean", s.judge().map(j -> number(j.meanScore())).orElse(null));
        m.put("loss", number(l.loss()));
        m.put("policy_loss", number(l.policyLoss()));
        m.put("kl_loss", number(l.klLoss()));
        m.put("kl_mean", number(l.klMean()));
        m.put("ppo_kl", number(l.driftMean()));
        m.put("clip_high", l.clipFractionHigh());
        m.put("clip_low", l.clipFractionLow());
        m.put("clip_dual", l.clipFractionDual());
        m.put("entropy", number(l.entropyMean()));
        m.put("responses", s.responses());
        m.put("response_length", s.meanResponseLength());
        m.put("mean_log_prob", number(s.meanLogProb()));
        m.put("tokens_per_second", s.rolloutTokensPerSecond());
        m.put("updates", s.updates().size());
        m.put("skipped_updates", s.skippedUpdates());
        m.put("grad_norm", s.updates().isEmpty() ? null
                : number(s.updates().stream().mapToDouble(UpdateResult::gradNorm).average().orElse(Double.NaN)));
        for (StepPhase p : StepPhase.values()) {
            m.put(p.name().toLowerCase(java.util.Locale.ROOT) + "_seconds",
                    s.phaseTimes().containsKey(p) ? s.phaseTimes().get(p).toNanos() / 1e9 : null);
        }
        return m;
    }

    private static Object number(double x) {
        return Double.isFinite(x) ? x : null;
    }

    private static Object optional(OptionalDouble x) {
        return x.isPresent() ? x.getAsDouble() : null;
    }

    /**
     * Drops the lines of steps at or after {@code firstStep}, which a resumed run is about to write again (a run
     * killed after its last checkpoint had logged them), and a torn last line a crash may have left. The file is
     * rewritten atomically, so a crash here loses nothing.
     */
    @Override
    public void onStart(long firstStep, long totalSteps) {
        try {
            out.close();
            if (Files.exists(file)) {
                java.util.List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                java.util.List<String> kept = new java.util.ArrayList<>();
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i);
                    Long step = stepOf(line);
                    boolean tornLast = step == null && i == lines.size() - 1 && !line.isBlank();
                    if (!((step != null && step >= firstStep) || tornLast)) {
                        kept.add(line);
                    }
                }
                if (kept.size() < lines.size()) {
                    StringBuilder text = new StringBuilder();
                    kept.forEach(l -> text.append(l).append('\n'));
                    AtomicFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
                }
            }
            out = open(file);
        } catch (IOException e) {
            throw new UncheckedIOException("could not prepare the metrics file " + file + " for step " + firstStep, e);
        }
    }

    /** The "step" of a metrics line, or null when the line is not one. */
    private static Long stepOf(String line) {
        try {
            com.fasterxml.jackson.databind.JsonNode n = JSON.readTree(line);
            return n != null && n.has("step") && n.get("step").canConvertToLong() ? n.get("step").longValue() : null;
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void onStep(StepStats stats, long totalSteps) {
        try {
            out.write(JSON.writeValueAsString(toMap(stats)));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("could not append to the metrics file " + file, e);
        }
    }

    @Override
    public void onFinish(RunResult result) {
        close();
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("could not close the metrics file " + file, e);
        }
    }
}
