package io.github.mmupt.examples.cli;

import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.StepListener;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress bar with the ETA on a terminal ({@code [#####-----] 5/10 steps, reward 0.52, vote share 0.71, 3.1
 * s/step, ETA 0:16}), redrawn in place; where the output is not a terminal (a log, a CI job) one such line per
 * step instead. The ETA is the mean time of this run's steps so far times the steps left.
 */
final class ProgressBar implements StepListener {

    private static final int WIDTH = 24;

    private final String label;
    private final PrintWriter out;
    private final boolean terminal;
    private long firstStep;
    private long started;
    private boolean drawn;

    /**
     * @param label what is running ("upt", "sft")
     * @param out where the bar goes (standard error)
     * @param terminal redraw in place rather than print a line per step
     */
    ProgressBar(String label, PrintWriter out, boolean terminal) {
        this.label = label;
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public void onStart(long first, long total) {
        this.firstStep = first;
        this.started = System.nanoTime();
        if (first > 0) {
            out.printf(Locale.ROOT, "%s: resuming at step %d of %d%n", label, first, total);
        }
    }

    @Override
    public void onStep(StepStats stats, long total) {
        long done = stats.step() + 1;
        double perStep = (System.nanoTime() - started) / 1e9 / Math.max(1, done - firstStep);
        long eta = Math.round(perStep * (total - done));
        int filled = (int) (WIDTH * done / Math.max(1, total));
        // SFT has no rewards or votes: its signal is the loss
        String signals = Double.isNaN(stats.rewardMean()) ? "loss " + number(stats.loss().loss())
                : "reward " + number(stats.rewardMean()) + ", vote share " + number(stats.votes().meanVoteShare());
        String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d steps, %s, %.1f s/step, ETA %d:%02d", label,
                "#".repeat(filled), "-".repeat(WIDTH - filled), done, total, signals, perStep, eta / 60, eta % 60);
        if (terminal) {
            out.print("\r" + line);
            drawn = true;
        } else {
            out.println(line);
        }
        out.flush();
    }

    @Override
    public void onFinish(RunResult result) {
        if (drawn) {
            out.println();
            out.flush();
        }
    }

    private static String number(double x) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, "%.3f", x) : "-";
    }
}
