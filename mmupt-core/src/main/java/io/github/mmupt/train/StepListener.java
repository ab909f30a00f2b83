package io.github.mmupt.train;

import io.github.mmupt.grpo.StepStats;

/**
 * Receives each step's statistics as the run goes, on the training thread (keep it quick). Metrics files,
 * progress lines and plots are listeners; so is whatever a host application wants to watch.
 */
public interface StepListener {

    /**
     * Once, before the first step of this call: {@code firstStep} steps are already done (0, or the step of the
     * checkpoint a run resumed from). Steps at or after it that a listener recorded earlier (a run killed after
     * its last checkpoint) will be run again, so a listener that persists them drops them here.
     *
     * @param firstStep steps already done
     * @param totalSteps the run's length
     */
    default void onStart(long firstStep, long totalSteps) {
    }

    /**
     * After each step; {@code totalSteps} is the run's length.
     *
     * @param stats the step's statistics
     * @param totalSteps the run's length
     */
    void onStep(StepStats stats, long totalSteps);

    /**
     * Once, after the last step.
     *
     * @param result what the run did
     */
    default void onFinish(RunResult result) {
    }
}
