package io.github.mmupt.grpo;

/**
 * Everything that defines the GRPO loss of one token and how tokens are aggregated. Build with
 * {@link #builder()}; {@link #mmUpt()} is MM-UPT's published setting.
 *
 * @param clip             the PPO clip; see {@link ClipRange}. MM-UPT: 0.2 / 0.3 / dual 3.
 * @param kl               the KL-to-reference term; see {@link KlPenalty}. MM-UPT: 0.01 x K3, clamped.
 * @param aggregation      how token losses combine; see {@link LossAggregation}. MM-UPT: token mean.
 * @param temperature      logits are divided by it before the log-softmax, as in sampling; must equal the
 *                         sampling temperature for the ratio to start at 1. MM-UPT: 0.7.
 * @param normalizerLength L of {@link LossAggregation#CONSTANT_NORMALIZER} (Dr. GRPO uses the maximum
 *                         response length); unused by the other aggregations. Default 2048.
 */
public record GrpoLossConfig(ClipRange clip, KlPenalty kl, LossAggregation aggregation, double temperature,
        int normalizerLength) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param clip the component {@code clip}, described with the class
     * @param kl the component {@code kl}, described with the class
     * @param aggregation the component {@code aggregation}, described with the class
     * @param temperature the component {@code temperature}, described with the class
     * @param normalizerLength the component {@code normalizerLength}, described with the class
     */
    public GrpoLossConfig {
        if (clip == null || kl == null || aggregation == null) {
            throw new IllegalArgumentException("clip, kl and aggregation must not be null");
        }
        if (!(temperature > 0 && temperature <= 10)) {
            throw new IllegalArgumentException("temperature must be in (0, 10], got " + temperature);
        }
        if (normalizerLength < 1) {
            throw new IllegalArgumentException("normalizerLength must be >= 1, got " + normalizerLength);
        }
    }

    /**
     * MM-UPT's loss: clip 0.2/0.3, dual clip 3, 0.01 x K3 with EasyR1 clamps, token mean, temperature 0.7.
     *
     * @return clip 0.2/0.3, dual clip 3, k3 KL at 0.01 with clamps, token-mean, temperature 0.7
     */
    public static GrpoLossConfig mmUpt() {
        return builder().build();
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder holding these settings, to change some of them} */
    public Builder toBuilder() {
        return new Builder().clip(clip).kl(kl).aggregation(aggregation).temperature(temperature)
                .normalizerLength(normalizerLength);
    }

    /**
     * The aggregation weights of a mini-batch with these sequence lengths.
     *
     * @param sequenceLengths the tokens of each sequence of a mini-batch
     * @return one weight per token, sequences in order
     */
    public double[] tokenWeights(int[] sequenceLengths) {
        return aggregation.tokenWeights(sequenceLengths, normalizerLength);
    }

    /** Builder starting from MM-UPT's values. */
    public static final class Builder {
        private ClipRange clip = ClipRange.mmUpt();
        private KlPenalty kl = KlPenalty.mmUpt();
        private LossAggregation aggregation = LossAggregation.TOKEN_MEAN;
        private double temperature = 0.7;
        private int normalizerLength = 2048;

        private Builder() {
        }

        /**
         * Sets clip; see the class description for its range and default.
         *
         * @param clip the new value
         * @return this builder
         */
        public Builder clip(ClipRange clip) {
            this.clip = clip;
            return this;
        }

        /**
         * Sets kl; see the class description for its range and default.
         *
         * @param kl the new value
         * @return this builder
         */
        public Builder kl(KlPenalty kl) {
            this.kl = kl;
            return this;
        }

        /**
         * Sets aggregation; see the class description for its range and default.
         *
         * @param aggregation the new value
         * @return this builder
         */
        public Builder aggregation(LossAggregation aggregation) {
            this.aggregation = aggregation;
            return this;
        }

        /**
         * Sets temperature; see the class description for its range and default.
         *
         * @param temperature the new value
         * @return this builder
         */
        public Builder temperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        /**
         * Sets normalizerLength; see the class description for its range and default.
         *
         * @param length the new value
         * @return this builder
         */
        public Builder normalizerLength(int length) {
            this.normalizerLength = length;
            return this;
        }

        /** {@return the settings, checked together} */
        public GrpoLossConfig build() {
            return new GrpoLossConfig(clip, kl, aggregation, temperature, normalizerLength);
        }
    }
}
