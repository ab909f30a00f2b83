package io.github.mmupt.grpo;

/**
 * The reference AdamW step in double precision, in place. See {@link AdamWConfig} for the update rule.
 */
public final class AdamW {

    private AdamW() {
    }

    /**
     * One step on one tensor.
     *
     * @param params [n] updated in place
     * @param grads  [n] the (already clipped) gradient
     * @param m      [n] first moment, updated in place
     * @param v      [n] second moment, updated in place
     * @param step   the 1-based number of this step (for bias correction)
     * @param config the learning rate, betas, epsilon and weight decay
     */
    public static void step(double[] params, double[] grads, double[] m, double[] v, long step, AdamWConfig config) {
        int n = params.length;
        if (grads.length != n || m.length != n || v.length != n) {
            throw new IllegalArgumentException("params, grads, m and v must have the same length, got " + n + ", "
                    + grads.length + ", " + m.length + ", " + v.length);
        }
        if (step < 1) {
            throw new IllegalArgumentException("step is 1-based, got " + step);
        }
        double lr = config.learningRate();
        double b1 = config.beta1();
        double b2 = config.beta2();
        double correction1 = 1 - Math.pow(b1, step);
        double correction2 = 1 - Math.pow(b2, step);
        double decay = 1 - lr * config.weightDecay();
        for (int i = 0; i < n; i++) {
            double g = grads[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mHat = m[i] / correction1;
            double vHat = v[i] / correction2;
            params[i] = params[i] * decay - lr * mHat / (Math.sqrt(vHat) + config.epsilon());
        }
    }
}
