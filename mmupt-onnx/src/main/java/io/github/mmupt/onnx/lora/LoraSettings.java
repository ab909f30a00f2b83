package io.github.mmupt.onnx.lora;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which decoder projections get a low-rank adapter, and its shape: rank r, alpha (the update is scaled by
 * alpha / r), the projections by their short names ({@code q k v o gate up down}: a weight named
 * {@code model.layers.3.self_attn.q_proj.weight} or {@code layers.3.q} is projection {@code q} of layer 3), and
 * the layers, all by default. The defaults follow "LoRA Without Regret" (Schulman et al., 2025): every layer,
 * attention and MLP alike.
 *
 * <pre>{@code
 * LoraSettings lora = LoraSettings.builder().rank(1).alpha(32).build();          // all layers, all projections
 * LoraSettings upper = LoraSettings.builder().rank(8).layers(12, 23).projections("q", "v").build();
 * }</pre>
 *
 * @param rank r, at least 1
 * @param alpha the scale numerator, positive and finite
 * @param projections the projections' short names
 * @param firstLayer the first adapted layer (inclusive)
 * @param lastLayer the last adapted layer (inclusive); {@link Integer#MAX_VALUE} for all
 * @param learningRateScale the adapters' learning rate over the head's (default 1; "LoRA Without Regret" found
 *                          LoRA's best rate about 10 times full fine-tuning's)
 * @param seed the seed of A's initialisation (PEFT's: uniform in +-1/sqrt(in), B zero, so the adapted model starts
 *             as the base model exactly)
 */
public record LoraSettings(int rank, double alpha, Set<String> projections, int firstLayer, int lastLayer,
        double learningRateScale, long seed) {

    /** The projections adapted by default: attention and MLP. */
    public static final List<String> ALL_PROJECTIONS = List.of("q", "k", "v", "o", "gate", "up", "down");

    /**
     * Checks the settings.
     *
     * @param rank r
     * @param alpha the scale numerator
     * @param projections the projections' short names
     * @param firstLayer the first adapted layer
     * @param lastLayer the last adapted layer
     * @param learningRateScale the adapters' learning rate over the head's
     * @param seed the seed of A's initialisation
     */
    public LoraSettings {
        if (!(learningRateScale > 0) || !Double.isFinite(learningRateScale)) {
            throw new IllegalArgumentException("the adapters' learning-rate scale must be positive and finite, got "
                    + learningRateScale);
        }
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank must be at least 1, got " + rank);
        }
        if (!(alpha > 0) || !Double.isFinite(alpha)) {
            throw new IllegalArgumentException("LoRA alpha must be positive and finite, got " + alpha);
        }
        if (projections.isEmpty()) {
            throw new IllegalArgumentException("LoRA needs at least one target projection, e.g. " + ALL_PROJECTIONS);
        }
        if (firstLayer < 0 || lastLayer < firstLayer) {
            throw new IllegalArgumentException("LoRA layers must be a range 0 <= first <= last, got " + firstLayer + ".."
                    + lastLayer);
        }
        projections = Set.copyOf(new TreeSet<>(projections));
    }

    /** {@return alpha / r, the factor of B A} */
    public double scale() {
        return alpha / rank;
    }

    /** {@return a builder with rank 1, alpha 32, every projection of every layer} */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link LoraSettings}. */
    public static final class Builder {
        private int rank = 1;
        private double alpha = 32;
        private Set<String> projections = Set.copyOf(ALL_PROJECTIONS);
        private int firstLayer = 0;
        private int lastLayer = Integer.MAX_VALUE;
        private double learningRateScale = 1;
        private long seed;

        private Builder() {
        }

        /**
         * Sets r.
         *
         * @param rank the rank
         * @return this builder
         */
        public Builder rank(int rank) {
            this.rank = rank;
            return this;
        }

        /**
         * Sets alpha.
         *
         * @param alpha the scale numerator
         * @return this builder
         */
        public Builder alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /**
         * Sets the projections adapted.
         *
         * @param names short names such as {@code q}, {@code down}
         * @return this builder
         */
        public Builder projections(String... names) {
            this.projections = Set.of(names);
            return this;
        }

        /**
         * Adapts only layers {@code first} to {@code last}, inclusive.
         *
         * @param first the first layer
         * @param last the last layer
         * @return this builder
         */
        public Builder layers(int first, int last) {
            this.firstLayer = first;
            this.lastLayer = last;
            return this;
        }

        /**
         * Sets the adapters' learning rate over the head's.
         *
         * @param scale the factor, positive
         * @return this builder
         */
        public Builder learningRateScale(double scale) {
            this.learningRateScale = scale;
            return this;
        }

        /**
         * Sets the seed of A's initialisation.
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** {@return the settings} */
        public LoraSettings build() {
            return new LoraSettings(rank, alpha, projections, firstLayer, lastLayer, learningRateScale, seed);
        }
    }
}
