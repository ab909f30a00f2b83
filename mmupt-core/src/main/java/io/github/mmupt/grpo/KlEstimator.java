package io.github.mmupt.grpo;

/**
 * Per-token estimators of KL(pi || pi_ref) from one sample (Schulman, "Approximating KL divergence"), as
 * functions of x = log pi_ref(y) - log pi(y). Each carries its value and its derivative with respect to
 * log pi(y), which is what the kernel's per-token upstream gradient needs.
 *
 * <ul>
 *   <li>{@link #K1}: -x. Unbiased, high variance, can be negative. (EasyR1 "kl".)</li>
 *   <li>{@link #K2}: x^2 / 2. Biased, low variance. (EasyR1 "mse".)</li>
 *   <li>{@link #K3}: e^x - x - 1. Unbiased, low variance, never negative; MM-UPT's "low_var_kl" and TRL's
 *       estimator.</li>
 * </ul>
 */
public enum KlEstimator {
    /** -x: unbiased, high variance, may be negative. */
    K1 {
        @Override
        public double value(double x) {
            return -x;
        }

        @Override
        public double derivativeWrtLogProb(double x) {
            return 1.0;
        }
    },
    /** x^2 / 2: biased, low variance. */
    K2 {
        @Override
        public double value(double x) {
            return 0.5 * x * x;
        }

        @Override
        public double derivativeWrtLogProb(double x) {
            return -x; // d(x^2/2)/dx = x, dx/dlogp = -1
        }
    },
    /** e^x - x - 1: unbiased, low variance, never negative (MM-UPT's choice). */
    K3 {
        @Override
        public double value(double x) {
            return Math.expm1(x) - x;
        }

        @Override
        public double derivativeWrtLogProb(double x) {
            return -Math.expm1(x); // d(e^x - x - 1)/dx = e^x - 1, dx/dlogp = -1
        }
    };

    /**
     * The estimate at x = log pi_ref - log pi.
     *
     * @param x log pi_ref - log pi
     * @return the estimate
     */
    public abstract double value(double x);

    /**
     * d value / d log pi at x = log pi_ref - log pi.
     *
     * @param x log pi_ref - log pi
     * @return the derivative
     */
    public abstract double derivativeWrtLogProb(double x);
}
