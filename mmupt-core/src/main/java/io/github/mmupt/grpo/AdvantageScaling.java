package io.github.mmupt.grpo;

/**
 * What a group's centred rewards {@code r_i - mean_group} are divided by.
 *
 * <ul>
 *   <li>{@link #GROUP_STD}: the group's unbiased standard deviation plus epsilon: GRPO (Shao et al. 2024),
 *       MM-UPT/EasyR1 (epsilon 1e-6), TRL's default.</li>
 *   <li>{@link #BATCH_STD}: the unbiased standard deviation of all rewards in the batch plus epsilon (TRL's
 *       {@code scale_rewards="batch"}): keeps easy and hard prompts on one scale.</li>
 *   <li>{@link #NONE}: nothing (Dr. GRPO, Liu et al. 2025): removes the bias towards low-variance groups.</li>
 * </ul>
 */
public enum AdvantageScaling {
    /** Divide by the group's standard deviation plus epsilon (GRPO, MM-UPT). */
    GROUP_STD {
        @Override
        double denominator(double groupStd, double batchStd, double epsilon) {
            return groupStd + epsilon;
        }
    },
    /** Divide by the batch's standard deviation plus epsilon. */
    BATCH_STD {
        @Override
        double denominator(double groupStd, double batchStd, double epsilon) {
            return batchStd + epsilon;
        }
    },
    /** No scaling (Dr. GRPO). */
    NONE {
        @Override
        double denominator(double groupStd, double batchStd, double epsilon) {
            return 1.0;
        }
    };

    abstract double denominator(double groupStd, double batchStd, double epsilon);
}
