package io.github.mmupt.continual;

import io.github.mmupt.MmUpt;
import io.github.mmupt.checkpoint.Checkpoint;
import io.github.mmupt.checkpoint.CheckpointStore;
import io.github.mmupt.checkpoint.LoopState;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.StepListener;
import io.github.mmupt.train.Trainer;
import io.github.mmupt.train.TrainingSettings;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continual self-improvement of a model in use: unlabeled examples stream in, the runner trains on them in
 * windows of steps, checks label-free guardrails after each window, and publishes the versions that pass
 * (atomically, see {@link ModelVersions}), rolling back to the best version when a guard says the model got worse.
 * A version that passes is staged and published only when the window trained on from it passes too (one window
 * of probation): a version whose continuation fails is never served, and is not a rollback target.
 *
 * <pre>{@code
 * ContinualRunner runner = ContinualRunner.builder()
 *         .training(MmUpt.builder().policy(policy).optimizer(head).sampler(sampler).promptsPerStep(32).seed(1))
 *         .source(ExampleSource.of(incomingQueue))
 *         .probe(ProbeSet.of(probePrompts, 424242))
 *         .publishTo(ModelVersions.open(Path.of("served"), 5), (weights, dir) -> policy.exportModel(dir.resolve("model"), weights))
 *         .build();
 * executor.submit(runner::run);     // a thread the host owns; runner.stop() from any thread
 * }</pre>
 *
 * <p>One window: collect {@code windowSteps x promptsPerStep} examples from the source, run that many steps of the
 * configured {@link Trainer} (same settings, seeds and listeners as {@link MmUpt#run()}), re-measure the probe set
 * (and the canary set, if any), let the {@link Guardrails} decide, tell the listeners, log the decision (SLF4J and
 * {@code guardrails.jsonl} in the store's root), then act: publish, hold, lower the learning rate, roll back or
 * stop. Before the first window the starting model is measured (the baseline) and, in an empty store, published
 * as version 1, so a rollback always has a target. Each version holds the exported model, the optimizer's
 * checkpoint and the window's signals; a rollback reloads the best version's checkpoint, bit for bit.
 *
 * <p>Control: {@link #stop()}, {@link #pause()} and {@link #resume()} return at once and take effect at the next
 * step boundary (or while waiting for examples); interrupting the runner's thread stops it too. However it ends,
 * a run ends on its best version: that version is current and the optimizer holds its weights (a window is
 * published whole or not at all). A new runner on the same store
 * continues from the current version's checkpoint and takes that version as its new baseline.
 *
 * <p>Threading: {@link #run()} blocks the calling thread (owned by the host) until the run ends; the caller owns
 * the policy, sampler and optimizer and must not use them from another thread meanwhile. Serving processes read
 * versions with {@link ModelVersions#readCurrent}, which never blocks on the runner.
 */
public final class ContinualRunner {

    private static final Logger LOG = LoggerFactory.getLogger(ContinualRunner.class);
    private static final String CHECKPOINT = "checkpoint";
    /** Window reports a run keeps for its result (the newest); the full history is in guardrails.jsonl. */
    public static final int MAX_REPORTS = 1000;

    /** Writes a version's model files (the exported model; adapters once LoRA lands). */
    @FunctionalInterface
    public interface VersionExporter {
        /**
         * Exports the trained head into a version's directory.
         *
         * @param weights the head to export
         * @param directory the (temporary) version directory
         * @throws IOException when the export fails; the version is then not published
         */
        void export(HeadWeights weights, Path directory) throws IOException;
    }

    private final MmUpt.Builder training;
    private final ExampleSource source;
    private final ProbeSet probe;
    private final CanarySet canary;
    private final Guardrails guardrails;
    private final ModelVersions versions;
    private final VersionExporter exporter;
    private final int windowSteps;
    private final double learningRateFactor;
    private final int maxRollbacks;
    private final long maxWindows;
    private final Duration pollTimeout;
    private final List<ContinualListener> listeners;

    private volatile boolean stopRequested;
    private volatile boolean paused;
    private final Object pauseLock = new Object();

    private ContinualRunner(Builder b) {
        this.training = b.training;
        this.source = b.source;
        this.probe = b.probe;
        this.canary = b.canary;
        this.guardrails = b.guardrails;
        this.versions = b.versions;
        this.exporter = b.exporter;
        this.windowSteps = b.windowSteps;
        this.learningRateFactor = b.learningRateFactor;
        this.maxRollbacks = b.maxRollbacks;
        this.maxWindows = b.maxWindows;
        this.pollTimeout = b.pollTimeout;
        this.listeners = List.copyOf(b.listeners);
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** Asks the run to stop at the next step boundary (or while it waits for examples); returns at once. */
    public void stop() {
        stopRequested = true;
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
    }

    /** Asks the run to pause at the next step boundary; returns at once. */
    public void pause() {
        paused = true;
    }

    /** Lets a paused run continue; returns at once. */
    public void resume() {
        paused = false;
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
    }

    /** {@return whether a pause was asked for and not yet lifted} */
    public boolean isPaused() {
        return paused;
    }

    /**
     * Runs until stopped, a guard stops it, the source is exhausted or the maximum number of windows is reached.
     *
     * @return what the run did
     * @throws IOException when a version or a checkpoint cannot be written or read
     */
    public ContinualResult run() throws IOException {
        RunState s = new RunState();
        try {
            start(s);
            ContinualResult.EndReason reason = loop(s);
            return finish(s, reason);
        } catch (ClosedByInterruptException | InterruptedIOException e) {
            // an interrupt during a file write: the version being written is discarded whole
            Thread.currentThread().interrupt();
            return finish(s, ContinualResult.EndReason.STOPPED);
        }
    }

    /** The mutable state of one {@link #run()}. */
    private static final class RunState {
        MmUpt run;
        long step;
        long window;
        WindowSignals start;
        WindowSignals warmup;
        WindowSignals previous;
        WindowSignals best;
        OptionalLong bestVersion = OptionalLong.empty();
        OptionalLong pending = OptionalLong.empty();
        WindowSignals pendingSignals;
        OptionalDouble bestCanary = OptionalDouble.empty();
        int rollbacks;
        final java.util.ArrayDeque<WindowReport> reports = new java.util.ArrayDeque<>();
        final List<Long> published = new ArrayList<>();
        List<StepStats> lastSteps = List.of();
    }

    /** Resumes from the current version or publishes the starting model as version 1; measures the baseline. */
    private void start(RunState s) throws IOException {
        try {
            s.run = training.data(placeholderData()).steps(1).build();
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the continual run's training settings are not usable on unlabeled "
                    + "examples: " + e.getMessage(), e);
        }
        if (s.run.settings().mode() != io.github.mmupt.train.TrainingMode.UPT) {
            throw new IllegalStateException("a continual run trains on unlabeled examples: its mode must be UPT, got "
                    + s.run.settings().mode());
        }
        GrpoOptimizer optimizer = s.run.optimizer();
        OptionalLong current = versions.currentVersion();
        if (current.isPresent()) {
            Checkpoint c = checkpointOf(s, current.getAsLong());
            restore(s, c);
            s.step = c.loop().step();
            s.bestVersion = current;
            LOG.info("continuing from version {} (step {}) in {}", current.getAsLong(), s.step, versions.root());
        }
        s.start = measure(s, 0, List.of());
        s.previous = s.start;
        s.best = s.start;
        s.bestCanary = s.start.canaryAccuracy();
        if (current.isEmpty()) {
            long v = stage(s, s.start, optimizer.adamW().learningRate());
            versions.makeCurrent(v);
            s.published.add(v);
            s.bestVersion = OptionalLong.of(v);
        }
        versions.protect(s.bestVersion.getAsLong());
        GuardLog.append(versions.root(), s.start, null, optimizer.adamW().learningRate(), "baseline", s.bestVersion,
                s.bestVersion);
        for (StepListener l : s.run.listeners()) {
            l.onStart(s.step, s.step + windowSteps);
        }
    }

    private ContinualResult.EndReason loop(RunState s) throws IOException {
        int promptsPerStep = s.run.settings().promptsPerStep();
        while (true) {
            if (s.window >= maxWindows) {
                return ContinualResult.EndReason.MAX_WINDOWS;
            }
            List<Example> examples = collect(windowSteps * promptsPerStep);
            if (examples == null) {
                return ContinualResult.EndReason.STOPPED;
            }
            int steps = examples.size() / promptsPerStep;
            if (steps == 0) {
                return ContinualResult.EndReason.SOURCE_EXHAUSTED;
            }
            s.window++;
            List<StepStats> stats = trainWindow(s, Dataset.of("stream window " + s.window, examples), steps);
            if (stats == null) {
                return ContinualResult.EndReason.STOPPED;
            }
            s.lastSteps = stats;
            WindowSignals signals = measure(s, s.window, stats);
            // until a window is accepted, the training signals have no baseline: each window is its own
            GuardContext context = new GuardContext(s.start, s.warmup != null ? s.warmup : signals, s.previous, s.best,
                    s.bestCanary, s.run.settings().equivalence());
            GuardDecision decision = guardrails.evaluate(signals, context);
            double lr = s.run.optimizer().adamW().learningRate();
            WindowReport report = new WindowReport(signals, decision, lr, versions.currentVersion(), s.bestVersion);
            s.reports.add(report);
            if (s.reports.size() > MAX_REPORTS) {
                s.reports.removeFirst(); // an unbounded run keeps the recent past, not all of it
            }
            for (ContinualListener l : listeners) {
                l.onWindow(report);
            }
            s.previous = signals;
            if (!act(s, signals, decision)) {
                return ContinualResult.EndReason.GUARD_STOP;
            }
            if (source.exhausted() && examples.size() < windowSteps * promptsPerStep) {
                return ContinualResult.EndReason.SOURCE_EXHAUSTED;
            }
        }
    }

    /** Carries out a decision; false when the run must stop. */
    private boolean act(RunState s, WindowSignals signals, GuardDecision decision) throws IOException {
        GrpoOptimizer optimizer = s.run.optimizer();
        double lr = optimizer.adamW().learningRate();
        GuardAction action = decision.action().orElse(null);
        for (GuardEvent e : decision.fired()) {
            LOG.warn("window {} (step {}): guard {} fired: deviation {} > {} -> {}", signals.window(), signals.endStep(),
                    e.guard().signal(), String.format(java.util.Locale.ROOT, "%.4f", e.value()), e.guard().threshold(),
                    e.guard().action());
        }
        if (action == GuardAction.ROLLBACK && s.rollbacks >= maxRollbacks) {
            LOG.warn("window {}: {} rollbacks already; stopping instead", signals.window(), s.rollbacks);
            action = GuardAction.STOP;
        }
        if (decision.publishes()) {
            if (action == GuardAction.LOWER_LEARNING_RATE) {
                setLearningRate(optimizer, lr * learningRateFactor);
            }
            // the window trained on from the pending version passed: that version is confirmed and published
            String confirmed = confirmPending(s);
            long v = stage(s, signals, lr);
            s.pending = OptionalLong.of(v);
            s.pendingSignals = signals;
            if (s.warmup == null) {
                s.warmup = signals;
            }
            GuardLog.append(versions.root(), signals, decision, lr, confirmed + "staged v" + v, versions.currentVersion(),
                    s.bestVersion);
            return true;
        }
        if (action == GuardAction.HOLD) {
            GuardLog.append(versions.root(), signals, decision, lr, "held", versions.currentVersion(), s.bestVersion);
            return true;
        }
        discardPending(s);
        rollBack(s);
        if (action == GuardAction.ROLLBACK) {
            s.rollbacks++;
            setLearningRate(optimizer, lr * learningRateFactor);
            GuardLog.append(versions.root(), signals, decision, lr, "rolled back to v" + s.bestVersion.getAsLong(),
                    versions.currentVersion(), s.bestVersion);
            return true;
        }
        GuardLog.append(versions.root(), signals, decision, lr, "stopped at v" + s.bestVersion.getAsLong(),
                versions.currentVersion(), s.bestVersion);
        return false;
    }

    /**
     * Publishes the pending version (its next window passed the guards) and makes it the best one when it is (with
     * a canary: when its canary accuracy is at least the best's); returns what was done, for the log.
     */
    private String confirmPending(RunState s) throws IOException {
        if (s.pending.isEmpty()) {
            return "";
        }
        long p = s.pending.getAsLong();
        versions.makeCurrent(p);
        s.published.add(p);
        WindowSignals signals = s.pendingSignals;
        if (signals.canaryAccuracy().isEmpty() || s.bestCanary.isEmpty()
                || signals.canaryAccuracy().getAsDouble() >= s.bestCanary.getAsDouble()) {
            s.best = signals;
            s.bestVersion = OptionalLong.of(p);
            s.bestCanary = signals.canaryAccuracy();
            versions.protect(p);
        }
        s.pending = OptionalLong.empty();
        LOG.info("published version {} (window {}, confirmed by the window after it)", p, signals.window());
        return "published v" + p + ", ";
    }

    /** Drops the pending version: the window trained on from it failed a guard, or the run ends before its test. */
    private void discardPending(RunState s) throws IOException {
        if (s.pending.isPresent()) {
            versions.discard(s.pending.getAsLong());
            LOG.info("discarded the candidate version {} (window {})", s.pending.getAsLong(), s.pendingSignals.window());
            s.pending = OptionalLong.empty();
        }
    }

    /** Restores the best version's weights and optimizer state, and serves it again if it is not current. */
    private void rollBack(RunState s) throws IOException {
        long best = s.bestVersion.getAsLong();
        restore(s, checkpointOf(s, best));
        if (versions.currentVersion().orElse(-1) != best) {
            versions.makeCurrent(best);
        }
        s.previous = s.best;
    }

    private static void setLearningRate(GrpoOptimizer optimizer, double lr) {
        LOG.info("learning rate {} -> {}", optimizer.adamW().learningRate(), lr);
        optimizer.adamW(optimizer.adamW().toBuilder().learningRate(lr).build());
    }

    /** Trains one window; null when a stop was asked for during it. */
    private List<StepStats> trainWindow(RunState s, Dataset data, int steps) {
        TrainingSettings settings = s.run.settings();
        s.run = training.data(data).steps(s.step + steps).build();
        Trainer trainer = s.run.trainerAt(new LoopState(s.step, 0, 0, settings.seed()));
        List<StepStats> out = new ArrayList<>();
        while (trainer.hasNext()) {
            if (!awaitRunnable()) {
                return null;
            }
            StepStats stats = trainer.step();
            out.add(stats);
            s.step = trainer.completedSteps();
            for (StepListener l : s.run.listeners()) {
                l.onStep(stats, s.step - out.size() + steps);
            }
        }
        return out;
    }

    /** Collects up to {@code count} examples; fewer when the source is exhausted; null when stopped. */
    private List<Example> collect(int count) {
        List<Example> out = new ArrayList<>(count);
        while (out.size() < count) {
            if (!awaitRunnable()) {
                return null;
            }
            try {
                source.poll(pollTimeout).ifPresent(out::add);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            if (source.exhausted()) {
                break;
            }
        }
        return out;
    }

    /** Waits while paused; false when the run must stop (asked to, or its thread interrupted). */
    private boolean awaitRunnable() {
        synchronized (pauseLock) {
            while (paused && !stopRequested && !Thread.currentThread().isInterrupted()) {
                try {
                    pauseLock.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        return !stopRequested && !Thread.currentThread().isInterrupted();
    }

    private WindowSignals measure(RunState s, long window, List<StepStats> steps) {
        TrainingSettings t = s.run.settings();
        ProbeReading reading = probe.measure(s.run.sampler(), t.sampling(), t.labeler());
        OptionalDouble canaryAccuracy = canary == null ? OptionalDouble.empty()
                : OptionalDouble.of(canary.accuracy(s.run.sampler(), t.sampling(), t.labeler(), t.equivalence()));
        return WindowSignals.of(window, s.step, steps, reading, canaryAccuracy);
    }

    /** Writes the optimizer's weights as a new version, not yet current. */
    private long stage(RunState s, WindowSignals signals, double lr) throws IOException {
        GrpoOptimizer optimizer = s.run.optimizer();
        Checkpoint checkpoint = new Checkpoint(optimizer.state(), new LoopState(s.step, 0, 0, s.run.settings().seed()),
                modelId(s), s.run.policy().adapters().map(a -> a.parameters().state()));
        HeadWeights weights = optimizer.weights();
        return versions.stage(dir -> {
            exporter.export(weights, dir);
            new CheckpointStore(dir.resolve(CHECKPOINT)).save(checkpoint);
            GuardLog.writeSignals(dir.resolve("window.json"), signals, lr);
        });
    }

    private ContinualResult finish(RunState s, ContinualResult.EndReason reason) throws IOException {
        // a run ends on its best version, served and in the optimizer (with a canary it may be older than the newest
        // accepted one; after a held window the optimizer holds unpublished weights); file channels refuse to work
        // for an interrupted thread, so the flag is set aside meanwhile
        boolean interrupted = Thread.interrupted();
        try {
            discardPending(s);
            if (s.bestVersion.isPresent() && s.run != null && s.window > 0) {
                LOG.info("the run ends on its best version {}", s.bestVersion.getAsLong());
                rollBack(s);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (s.run != null) {
            RunResult last = new RunResult(s.lastSteps, s.run.optimizer().weights(), Duration.ZERO);
            for (StepListener l : s.run.listeners()) {
                l.onFinish(last);
            }
        }
        ContinualResult result = new ContinualResult(List.copyOf(s.reports), s.step, s.published, s.rollbacks,
                versions.currentVersion(), s.bestVersion, reason);
        LOG.info("continual run ended ({}): {} window(s), {} version(s) published, {} rollback(s), current {}",
                reason, s.reports.size(), s.published.size(), s.rollbacks, result.current());
        for (ContinualListener l : listeners) {
            l.onFinish(result);
        }
        return result;
    }

    private static String modelId(RunState s) {
        return s.run.policy().spec().modelId();
    }

    /**
     * Puts a version's head, optimizer state and trunk adapters (when the policy trains them) back in place; a
     * version whose adapters do not match the policy's is refused before anything changes.
     */
    private static void restore(RunState s, Checkpoint c) throws IOException {
        var adapters = s.run.policy().adapters();
        if (adapters.isPresent() != c.adapters().isPresent()) {
            throw new IOException(c.adapters().isPresent()
                    ? "a version's checkpoint holds trunk adapters, but this policy's trunk is frozen"
                    : "a version's checkpoint has no trunk adapters, but this policy trains LoRA adapters");
        }
        if (adapters.isPresent()) {
            adapters.get().parameters().restore(c.adapters().get());
        }
        s.run.optimizer().restore(c.optimizer());
    }

    /** A version's checkpoint, read and checked by the checkpoint store (model, head shape, values). */
    private Checkpoint checkpointOf(RunState s, long version) throws IOException {
        return new CheckpointStore(versions.directory(version).resolve(CHECKPOINT))
                .latest(modelId(s), s.run.optimizer().shape())
                .orElseThrow(() -> new IOException("version " + version + " in " + versions.root() + " holds no "
                        + "checkpoint (" + CHECKPOINT + "/step-*): it was not published by a continual run"));
    }

    /**
     * The settings are built before any example has arrived (the baseline is measured first): the probe's first
     * prompt stands in for the data, which the first window replaces.
     */
    private Dataset placeholderData() {
        return Dataset.of("continual (no window yet)", java.util.Collections.nCopies(
                Math.max(1, training.promptsPerStep()), Example.unlabeled(probe.prompts().get(0))));
    }

    /**
     * Settings of a continual run. Required: {@link #training}, {@link #source}, {@link #probe} and
     * {@link #publishTo}; everything else has a default, listed with its setter.
     */
    public static final class Builder {
        private MmUpt.Builder training;
        private ExampleSource source;
        private ProbeSet probe;
        private CanarySet canary;
        private Guardrails guardrails = Guardrails.defaults();
        private ModelVersions versions;
        private VersionExporter exporter;
        private int windowSteps = 10;
        private double learningRateFactor = 0.5;
        private int maxRollbacks = 3;
        private long maxWindows = Long.MAX_VALUE;
        private Duration pollTimeout = Duration.ofMillis(200);
        private final List<ContinualListener> listeners = new ArrayList<>();

        private Builder() {
        }

        /**
         * Required: the training settings (policy, optimizer, sampler, sampling, labeler, steps' sizes, seed, step
         * listeners) as for {@link MmUpt#run()}. The runner takes the builder over: it sets its data and steps for
         * every window, so do not share it with another run.
         *
         * @param training the new value
         * @return this builder
         */
        public Builder training(MmUpt.Builder training) {
            this.training = training;
            return this;
        }

        /**
         * Required: where unlabeled examples come from.
         *
         * @param source the new value
         * @return this builder
         */
        public Builder source(ExampleSource source) {
            this.source = source;
            return this;
        }

        /**
         * Required: the fixed unlabeled prompts re-measured after every window (held back from the stream; a few
         * dozen to a few hundred).
         *
         * @param probe the new value
         * @return this builder
         */
        public Builder probe(ProbeSet probe) {
            this.probe = probe;
            return this;
        }

        /**
         * Optional: a small labeled set for monitoring (see {@link CanarySet}). Default none.
         *
         * @param canary the new value, or null for none
         * @return this builder
         */
        public Builder canary(CanarySet canary) {
            this.canary = canary;
            return this;
        }

        /**
         * The guards. Default {@link Guardrails#defaults()}; {@link Guardrails#off()} publishes every window.
         *
         * @param guardrails the new value
         * @return this builder
         */
        public Builder guardrails(Guardrails guardrails) {
            this.guardrails = guardrails;
            return this;
        }

        /**
         * Required: where versions go, and how a version's model files are written.
         *
         * @param versions the version store
         * @param exporter writes the model files of a version
         * @return this builder
         */
        public Builder publishTo(ModelVersions versions, VersionExporter exporter) {
            this.versions = versions;
            this.exporter = exporter;
            return this;
        }

        /**
         * Steps per window (between two guard checks), >= 1. Default 10.
         *
         * @param steps the new value
         * @return this builder
         */
        public Builder windowSteps(int steps) {
            this.windowSteps = steps;
            return this;
        }

        /**
         * Factor applied to the learning rate by LOWER_LEARNING_RATE and after each rollback, in (0, 1]. Default 0.5.
         *
         * @param factor the new value
         * @return this builder
         */
        public Builder learningRateFactor(double factor) {
            this.learningRateFactor = factor;
            return this;
        }

        /**
         * Rollbacks after which a further one stops the run instead, >= 0. Default 3.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder maxRollbacks(int n) {
            this.maxRollbacks = n;
            return this;
        }

        /**
         * Windows after which the run ends, >= 1. Default unbounded.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder maxWindows(long n) {
            this.maxWindows = n;
            return this;
        }

        /**
         * How long one wait for an example may take before the runner checks for stop and pause again, > 0.
         * Default 200 ms.
         *
         * @param timeout the new value
         * @return this builder
         */
        public Builder pollTimeout(Duration timeout) {
            this.pollTimeout = timeout;
            return this;
        }

        /**
         * Adds a listener told about every window.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder listener(ContinualListener listener) {
            this.listeners.add(listener);
            return this;
        }

        /**
         * Checks the settings; every failure says what and why.
         *
         * @return the runner
         */
        public ContinualRunner build() {
            List<String> missing = new ArrayList<>();
            if (training == null) {
                missing.add("training");
            }
            if (source == null) {
                missing.add("source");
            }
            if (probe == null) {
                missing.add("probe");
            }
            if (versions == null || exporter == null) {
                missing.add("publishTo (a version store and an exporter)");
            }
            if (guardrails == null) {
                missing.add("guardrails");
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("ContinualRunner needs " + String.join(", ", missing));
            }
            if (windowSteps < 1) {
                throw new IllegalStateException("windowSteps must be >= 1, got " + windowSteps);
            }
            if (!(learningRateFactor > 0 && learningRateFactor <= 1)) {
                throw new IllegalStateException("learningRateFactor must be in (0, 1], got " + learningRateFactor);
            }
            if (maxRollbacks < 0 || maxWindows < 1) {
                throw new IllegalStateException("maxRollbacks must be >= 0 and maxWindows >= 1, got " + maxRollbacks
                        + " and " + maxWindows);
            }
            if (pollTimeout == null || pollTimeout.isNegative() || pollTimeout.isZero()) {
                throw new IllegalStateException("pollTimeout must be positive, got " + pollTimeout);
            }
            return new ContinualRunner(this);
        }
    }
}
