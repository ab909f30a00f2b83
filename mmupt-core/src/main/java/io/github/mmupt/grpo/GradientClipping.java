package io.github.mmupt.grpo;

import java.util.List;

/**
 * Global gradient-norm clipping, as PyTorch's {@code clip_grad_norm_}: the L2 norm over all tensors together;
 * when it exceeds {@code maxNorm}, every gradient is scaled by {@code maxNorm / (norm + 1e-6)}. A non-finite
 * norm is reported and nothing is scaled: the caller skips the update (EasyR1 does the same).
 */
public final class GradientClipping {

    /** PyTorch's guard against division by zero. */
    static final double EPSILON = 1e-6;

    private GradientClipping() {
    }

    /**
     * The global norm and the scale applied (1 when not clipped, NaN when the norm is not finite).
     *
     * @param norm  the L2 norm before clipping
     * @param scale the factor the gradients were multiplied by
     */
    public record Result(double norm, double scale) {

        /** {@return whether the norm was finite (else nothing was scaled)} */
        public boolean finite() {
            return Double.isFinite(norm);
        }

        /** {@return whether the gradient was scaled down} */
        public boolean clipped() {
            return finite() && scale < 1.0;
        }
    }

    /**
     * Clips {@code grads} in place and returns what it did.
     *
     * @param grads the gradient tensors, scaled in place
     * @param maxNorm the largest global L2 norm kept
     * @return the norm before clipping and the scale applied
     */
    public static Result clipGlobalNorm(List<double[]> grads, double maxNorm) {
        return clipGlobalNorm(grads, maxNorm, 0.0);
    }

    /**
     * As {@link #clipGlobalNorm(List, double)}, with the norm taken over {@code grads} and other gradients whose
     * sum of squares is given (they are not scaled here: the caller applies the returned scale to them).
     *
     * @param grads the gradient tensors, scaled in place
     * @param maxNorm the largest global L2 norm kept
     * @param otherSumOfSquares the other gradients' sum of squares, at least 0
     * @return the norm before clipping and the scale applied
     */
    public static Result clipGlobalNorm(List<double[]> grads, double maxNorm, double otherSumOfSquares) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("maxNorm must be > 0, got " + maxNorm);
        }
        if (otherSumOfSquares < 0) {
            throw new IllegalArgumentException("a sum of squares is at least 0, got " + otherSumOfSquares);
        }
        double sumSquares = otherSumOfSquares;
        for (double[] g : grads) {
            for (double x : g) {
                sumSquares += x * x;
            }
        }
        double norm = Math.sqrt(sumSquares);
        if (!Double.isFinite(norm)) {
            return new Result(norm, Double.NaN);
        }
        double coefficient = maxNorm / (norm + EPSILON);
        if (coefficient >= 1.0) {
            return new Result(norm, 1.0);
        }
        for (double[] g : grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] *= coefficient;
            }
        }
        return new Result(norm, coefficient);
    }
}
