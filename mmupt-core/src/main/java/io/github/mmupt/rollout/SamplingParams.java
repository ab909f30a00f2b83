package io.github.mmupt.rollout;

import com.google.common.primitives.ImmutableIntArray;

/**
 * How responses are sampled. Build with {@link #builder()}; {@link #mmUpt()} is MM-UPT's published setting.
 *
 * @param responsesPerPrompt N, the group size: responses sampled per prompt and voted over. Range 1..1024
 *                           (training needs at least 2; 1 is for pass@1 evaluation).
 *                           MM-UPT: 10 (TTRL votes over 64). Larger N gives more reliable votes, at N times
 *                           the sampling cost.
 * @param temperature        logits are divided by it before softmax; (0, 10]. MM-UPT: 0.7. The same value
 *                           scales the log-probs used for training (MM-UPT's convention).
 * @param topP               nucleus sampling: keep the smallest set of tokens whose probability reaches it;
 *                           (0, 1]. MM-UPT: 0.99. 1 turns it off.
 * @param topK               keep only the k most likely tokens; 0 turns it off (MM-UPT: off).
 * @param maxNewTokens       length limit of a response in tokens; responses cut here finish with
 *                           {@link FinishReason#LENGTH}. MM-UPT: 2048.
 * @param stopTokenIds       tokens that end a response (included as its last token); empty means the
 *                           policy's own end-of-sequence tokens.
 * @param minNewTokens       stop tokens are not sampled before this many tokens (vLLM's {@code min_tokens});
 *                           0 (default) to maxNewTokens. Recorded log-probs stay those of the full distribution.
 */
public record SamplingParams(int responsesPerPrompt, double temperature, double topP, int topK, int maxNewTokens,
        ImmutableIntArray stopTokenIds, int minNewTokens) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param responsesPerPrompt the component {@code responsesPerPrompt}, described with the class
     * @param temperature the component {@code temperature}, described with the class
     * @param topP the component {@code topP}, described with the class
     * @param topK the component {@code topK}, described with the class
     * @param maxNewTokens the component {@code maxNewTokens}, described with the class
     * @param stopTokenIds the component {@code stopTokenIds}, described with the class
     * @param minNewTokens the component {@code minNewTokens}, described with the class
     */
    public SamplingParams {
        if (responsesPerPrompt < 1 || responsesPerPrompt > 1024) {
            throw new IllegalArgumentException("responsesPerPrompt must be in [1, 1024], got " + responsesPerPrompt);
        }
        if (!(temperature > 0 && temperature <= 10)) {
            throw new IllegalArgumentException("temperature must be in (0, 10], got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        }
        if (minNewTokens < 0 || minNewTokens > maxNewTokens) {
            throw new IllegalArgumentException("minNewTokens must be in [0, maxNewTokens = " + maxNewTokens + "], got "
                    + minNewTokens);
        }
        if (stopTokenIds == null) {
            throw new IllegalArgumentException("stopTokenIds must not be null (use ImmutableIntArray.of())");
        }
        for (int i = 0; i < stopTokenIds.length(); i++) {
            if (stopTokenIds.get(i) < 0) {
                throw new IllegalArgumentException("stop token id must be >= 0, got " + stopTokenIds.get(i));
            }
        }
    }

    /**
     * MM-UPT's rollout settings: n 10, temperature 0.7, top-p 0.99, no top-k, 2048 new tokens.
     *
     * @return the settings
     */
    public static SamplingParams mmUpt() {
        return builder().build();
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from these values.
     *
     * @return this builder
     */
    public Builder toBuilder() {
        return new Builder().responsesPerPrompt(responsesPerPrompt).temperature(temperature).topP(topP).topK(topK)
                .maxNewTokens(maxNewTokens).stopTokenIds(stopTokenIds).minNewTokens(minNewTokens);
    }

    /** Builder with MM-UPT's values as defaults. */
    public static final class Builder {
        private int responsesPerPrompt = 10;
        private double temperature = 0.7;
        private double topP = 0.99;
        private int topK = 0;
        private int maxNewTokens = 2048;
        private ImmutableIntArray stopTokenIds = ImmutableIntArray.of();
        private int minNewTokens;

        private Builder() {
        }

        /**
         * Sets responsesPerPrompt; see the class description for its range and default.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder responsesPerPrompt(int n) {
            this.responsesPerPrompt = n;
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
         * Sets topP; see the class description for its range and default.
         *
         * @param topP the new value
         * @return this builder
         */
        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        /**
         * Sets topK; see the class description for its range and default.
         *
         * @param topK the new value
         * @return this builder
         */
        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        /**
         * Sets maxNewTokens; see the class description for its range and default.
         *
         * @param maxNewTokens the new value
         * @return this builder
         */
        public Builder maxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /**
         * Sets stopTokenIds; see the class description for its range and default.
         *
         * @param ids the new value
         * @return this builder
         */
        public Builder stopTokenIds(ImmutableIntArray ids) {
            this.stopTokenIds = ids;
            return this;
        }

        /**
         * Sets minNewTokens; see the class description for its range and default.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder minNewTokens(int n) {
            this.minNewTokens = n;
            return this;
        }

        /** {@return the settings, checked together} */
        public SamplingParams build() {
            return new SamplingParams(responsesPerPrompt, temperature, topP, topK, maxNewTokens, stopTokenIds, minNewTokens);
        }
    }
}
