package io.github.mmupt.train;

import io.github.mmupt.grpo.StepStats;

/**
 * Receives each step's statistics as the run goes, on the training thread (keep it quick). Metrics files,
 * progress lines and plots are listeners; so is whatever a host application wants to watch.
 */
public interface StepListener {

    /** After each step; {@code totalSteps} is the run's length. */
    void onStep(StepStats stats, long totalSteps);

    /** Once, after the last step. */
    default void onFinish(RunResult result) {
    }
}
