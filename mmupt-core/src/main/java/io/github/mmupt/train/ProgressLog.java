package io.github.mmupt.train;

import io.github.mmupt.grpo.StepStats;
import java.time.Duration;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs one line per step (SLF4J, INFO) with the step's key numbers and an ETA from the mean step time so far:
 * {@code step 12/100  reward 0.61  vote 0.70  label-acc 0.55  loss -0.012  kl 0.0031  ent 1.20  0.8 s/step  ETA 1m10s}
 * (SFT steps show the cross-entropy, {@code nll}, instead of the loss and KL).
 */
public final class ProgressLog implements StepListener {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressLog.class);

    private final String name;
    private long started = -1;
    private long seen;

    /** @param name a label for the run, printed first */
    public ProgressLog(String name) {
        this.name = name;
    }

    @Override
    public void onStep(StepStats s, long totalSteps) {
        long now = System.nanoTime();
        if (started < 0) {
            started = now - s.totalTime().toNanos();
        }
        seen++;
        double perStep = (now - started) / 1e9 / seen;
        long remaining = Math.max(0, totalSteps - (s.step() + 1));
        LOG.info(line(s, totalSteps, perStep, Duration.ofMillis((long) (perStep * remaining * 1000))));
    }

    String line(StepStats s, long totalSteps, double secondsPerStep, Duration eta) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s step %d/%d", name, s.step() + 1, totalSteps));
        if (!Double.isNaN(s.rewardMean())) {
            b.append(String.format(Locale.ROOT, "  reward %.3f", s.rewardMean()));
        }
        if (s.votes().prompts() > 0) {
            b.append(String.format(Locale.ROOT, "  vote %.2f", s.votes().meanVoteShare()));
        }
        s.votes().labelAccuracy().ifPresent(a -> b.append(String.format(Locale.ROOT, "  label-acc %.2f", a)));
        if (Double.isNaN(s.rewardMean())) {
            // SFT: the surrogate loss is -1 by construction; the cross-entropy says how training goes
            b.append(String.format(Locale.ROOT, "  nll %.4f  ent %.3f", -s.meanLogProb(), s.loss().entropyMean()));
        } else {
            b.append(String.format(Locale.ROOT, "  loss %.4f  kl %.4f  ent %.3f", s.loss().loss(), s.loss().klMean(),
                    s.loss().entropyMean()));
        }
        if (s.skippedUpdates() > 0) {
            b.append("  SKIPPED ").append(s.skippedUpdates()).append(" update(s)");
        }
        long secs = eta.toSeconds();
        b.append(String.format(Locale.ROOT, "  %.2f s/step  ETA %dm%02ds", secondsPerStep, secs / 60, secs % 60));
        return b.toString();
    }
}
