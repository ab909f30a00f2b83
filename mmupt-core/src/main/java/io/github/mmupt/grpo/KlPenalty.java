package io.github.mmupt.grpo;

/**
 * The KL-to-reference term added to each token's loss: {@code beta * estimator(log pi_ref - log pi)}.
 *
 * <p>With {@code easyR1Clamps} (only for {@link KlEstimator#K3}), x is clamped to [-20, 20] and the
 * estimate to [-10, 10] as EasyR1's "low_var_kl" does; the gradient is zero where a clamp binds.
 *
 * @param beta         weight, &gt;= 0; 0 removes the term and the need for reference log-probs. MM-UPT: 0.01.
 * @param estimator    which estimator. MM-UPT: K3.
 * @param easyR1Clamps whether to clamp as EasyR1 does. MM-UPT: yes.
 */
public record KlPenalty(double beta, KlEstimator estimator, boolean easyR1Clamps) {

    /** EasyR1's clamp on x = log pi_ref - log pi. */
    public static final double X_CLAMP = 20.0;
    /** EasyR1's clamp on the K3 value. */
    public static final double VALUE_CLAMP = 10.0;

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param beta the component {@code beta}, described with the class
     * @param estimator the component {@code estimator}, described with the class
     * @param easyR1Clamps the component {@code easyR1Clamps}, described with the class
     */
    public KlPenalty {
        if (!(beta >= 0 && Double.isFinite(beta))) {
            throw new IllegalArgumentException("KL beta must be finite and >= 0, got " + beta);
        }
        if (estimator == null) {
            throw new IllegalArgumentException("KL estimator must not be null");
        }
        if (easyR1Clamps && estimator != KlEstimator.K3) {
            throw new IllegalArgumentException("EasyR1's clamps belong to its low_var_kl (K3), not " + estimator);
        }
    }

    /**
     * No KL term.
     *
     * @return beta 0
     */
    public static KlPenalty none() {
        return new KlPenalty(0.0, KlEstimator.K3, false);
    }

    /**
     * MM-UPT: beta 0.01, K3 with EasyR1's clamps.
     *
     * @return beta 0.01, k3, EasyR1 clamps
     */
    public static KlPenalty mmUpt() {
        return new KlPenalty(0.01, KlEstimator.K3, true);
    }

    /** {@return whether beta is above 0} */
    public boolean enabled() {
        return beta > 0;
    }

    /**
     * The estimate for one token (before beta).
     *
     * @param logProb log pi of the token
     * @param refLogProb log pi_ref of the token
     * @return the penalty, before beta
     */
    public double value(double logProb, double refLogProb) {
        double x = refLogProb - logProb;
        if (!easyR1Clamps) {
            return estimator.value(x);
        }
        double xc = Math.max(-X_CLAMP, Math.min(X_CLAMP, x));
        return Math.max(-VALUE_CLAMP, Math.min(VALUE_CLAMP, estimator.value(xc)));
    }

    /**
     * d value / d log pi for one token (before beta); zero where a clamp binds.
     *
     * @param logProb log pi of the token
     * @param refLogProb log pi_ref of the token
     * @return its derivative with respect to log pi
     */
    public double derivative(double logProb, double refLogProb) {
        double x = refLogProb - logProb;
        if (easyR1Clamps) {
            if (x < -X_CLAMP || x > X_CLAMP) {
                return 0.0;
            }
            double v = estimator.value(x);
            if (v < -VALUE_CLAMP || v > VALUE_CLAMP) {
                return 0.0;
            }
        }
        return estimator.derivativeWrtLogProb(x);
    }
}
