package io.github.mmupt.grpo;

/**
 * AdamW (Loshchilov and Hutter, decoupled weight decay) with bias correction, as PyTorch's
 * {@code torch.optim.AdamW}: {@code p -= lr wd p}, then
 * {@code p -= lr m_hat / (sqrt(v_hat) + eps)} with {@code m_hat = m / (1 - beta1^t)},
 * {@code v_hat = v / (1 - beta2^t)}.
 *
 * @param learningRate lr &gt; 0. MM-UPT: 1e-6 for the whole 7B model; a head-only policy usually wants more.
 * @param beta1        first-moment decay in [0, 1). PyTorch/MM-UPT: 0.9.
 * @param beta2        second-moment decay in [0, 1). PyTorch/MM-UPT: 0.999.
 * @param epsilon      added to the denominator, &gt; 0. PyTorch: 1e-8.
 * @param weightDecay  decoupled decay, &gt;= 0. MM-UPT: 0.01.
 * @param maxGradNorm  global gradient-norm clip, &gt; 0 (+Infinity for none). MM-UPT: 1.0.
 */
public record AdamWConfig(double learningRate, double beta1, double beta2, double epsilon, double weightDecay,
        double maxGradNorm) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param learningRate the component {@code learningRate}, described with the class
     * @param beta1 the component {@code beta1}, described with the class
     * @param beta2 the component {@code beta2}, described with the class
     * @param epsilon the component {@code epsilon}, described with the class
     * @param weightDecay the component {@code weightDecay}, described with the class
     * @param maxGradNorm the component {@code maxGradNorm}, described with the class
     */
    public AdamWConfig {
        if (!(learningRate > 0 && Double.isFinite(learningRate))) {
            throw new IllegalArgumentException("learning rate must be positive and finite, got " + learningRate);
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(epsilon > 0 && Double.isFinite(epsilon))) {
            throw new IllegalArgumentException("epsilon must be positive and finite, got " + epsilon);
        }
        if (!(weightDecay >= 0 && Double.isFinite(weightDecay))) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
        if (!(maxGradNorm > 0)) {
            throw new IllegalArgumentException("maxGradNorm must be > 0 (+Infinity for no clipping), got "
                    + maxGradNorm);
        }
    }

    /**
     * MM-UPT: lr 1e-6, betas (0.9, 0.999), eps 1e-8, weight decay 0.01, grad norm 1.0.
     *
     * @return lr 1e-6, betas (0.9, 0.999), eps 1e-8, weight decay 0.01, max grad norm 1.0
     */
    public static AdamWConfig mmUpt() {
        return builder().build();
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder holding these settings, to change some of them} */
    public Builder toBuilder() {
        return new Builder().learningRate(learningRate).betas(beta1, beta2).epsilon(epsilon)
                .weightDecay(weightDecay).maxGradNorm(maxGradNorm);
    }

    /** Builder starting from MM-UPT's values. */
    public static final class Builder {
        private double learningRate = 1e-6;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double epsilon = 1e-8;
        private double weightDecay = 0.01;
        private double maxGradNorm = 1.0;

        private Builder() {
        }

        /**
         * Sets learningRate; see the class description for its range and default.
         *
         * @param lr the new value
         * @return this builder
         */
        public Builder learningRate(double lr) {
            this.learningRate = lr;
            return this;
        }

        /**
         * Sets betas; see the class description for its range and default.
         *
         * @param beta1 the new value
         * @param beta2 the new value
         * @return this builder
         */
        public Builder betas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /**
         * Sets epsilon; see the class description for its range and default.
         *
         * @param epsilon the new value
         * @return this builder
         */
        public Builder epsilon(double epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /**
         * Sets weightDecay; see the class description for its range and default.
         *
         * @param weightDecay the new value
         * @return this builder
         */
        public Builder weightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /**
         * Sets maxGradNorm; see the class description for its range and default.
         *
         * @param maxGradNorm the new value
         * @return this builder
         */
        public Builder maxGradNorm(double maxGradNorm) {
            this.maxGradNorm = maxGradNorm;
            return this;
        }

        /** {@return the settings, checked together} */
        public AdamWConfig build() {
            return new AdamWConfig(learningRate, beta1, beta2, epsilon, weightDecay, maxGradNorm);
        }
    }
}
