package io.github.mmupt.preference;

import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.seed.Seeds;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes STIC's self-constructed preference pairs (Deng et al., 2024, "Enhancing Large Vision Language Models with
 * Self-Training on Image Comprehension"): for each unlabeled example the policy answers twice, once with the
 * <em>good prompt</em> on the real image (the preferred response) and once with the <em>poor prompt</em> on an
 * image spoiled by an {@link ImageCorruption} (the dispreferred one). The pair's prompt is the example's own
 * prompt: DPO then teaches the policy to answer the plain question as it does when prompted well and looking at
 * the real image, and not as it does when misled. Pairs whose two responses are the same text, or whose sampling
 * went non-finite, are dropped (they carry no preference).
 *
 * <p>Templates use {@code {images}} and {@code {question}} (the question without its image placeholders).
 * Defaults: good prompt {@code {images}{question} Look at the image carefully and answer step by step.}, poor
 * prompt {@code {images}{question}} on a {@link ImageCorruption#LOW_RESOLUTION} image, one response each at
 * temperature 0.7 and up to 512 tokens, seed 1.
 *
 * <pre>{@code
 * List<PreferencePair> pairs = PreferencePairWriter.builder().sampler(sampler)
 *         .corruption(ImageCorruption.ROTATE_CHANNELS).seed(7).build().write(unlabeled.examples());
 * }</pre>
 *
 * <p>No gold answer or response is read. Deterministic for the same seed, sampler and inputs; not thread-safe;
 * the caller owns the sampler.
 */
public final class PreferencePairWriter {

    private static final Logger LOG = LoggerFactory.getLogger(PreferencePairWriter.class);

    /** Where the images go. */
    public static final String IMAGES = "{images}";
    /** Where the question goes. */
    public static final String QUESTION = "{question}";

    private final RolloutSampler sampler;
    private final String goodPrompt;
    private final String poorPrompt;
    private final ImageCorruption corruption;
    private final SamplingParams sampling;
    private final SamplingParams poorSampling;
    private final long seed;

    private PreferencePairWriter(Builder b) {
        this.sampler = b.sampler;
        this.goodPrompt = b.goodPrompt;
        this.poorPrompt = b.poorPrompt;
        this.corruption = b.corruption;
        this.sampling = b.sampling;
        this.poorSampling = b.poorSampling == null ? b.sampling : b.poorSampling;
        this.seed = b.seed;
    }

    /** {@return a builder with the defaults the class documents} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * One pair per source where the two responses differ.
     *
     * @param sources the unlabeled examples (only their prompts are read)
     * @return the pairs, in source order
     */
    public List<PreferencePair> write(List<Example> sources) {
        List<Prompt> good = new ArrayList<>();
        List<Prompt> poor = new ArrayList<>();
        for (Example e : sources) {
            Prompt p = e.prompt();
            good.add(render(goodPrompt, p, p.images(), p.id() + "#stic-good"));
            poor.add(render(poorPrompt, p, p.images().stream().map(corruption::apply).toList(), p.id() + "#stic-poor"));
        }
        if (sources.isEmpty()) {
            return List.of();
        }
        List<RolloutGroup> preferred = sampler.sample(good, sampling, seed);
        List<RolloutGroup> dispreferred = sampler.sample(poor, poorSampling, Seeds.synthesisConsistency(seed));
        if (preferred.size() != sources.size() || dispreferred.size() != sources.size()) {
            throw new IllegalStateException("the sampler returned " + preferred.size() + " and " + dispreferred.size()
                    + " groups for " + sources.size() + " prompts");
        }
        List<PreferencePair> out = new ArrayList<>();
        int same = 0;
        int broken = 0;
        for (int i = 0; i < sources.size(); i++) {
            Rollout c = preferred.get(i).rollouts().get(0);
            Rollout r = dispreferred.get(i).rollouts().get(0);
            if (c.finish() == FinishReason.NON_FINITE || r.finish() == FinishReason.NON_FINITE || c.length() == 0
                    || r.length() == 0) {
                broken++;
            } else if (c.tokenIds().equals(r.tokenIds())) {
                same++;
            } else {
                out.add(new PreferencePair(sources.get(i).prompt(), c.tokenIds(), c.text(), r.tokenIds(), r.text()));
            }
        }
        LOG.info("stic pairs: {} sources, {} pairs, {} dropped as identical, {} as empty or non-finite", sources.size(),
                out.size(), same, broken);
        return List.copyOf(out);
    }

    private static Prompt render(String template, Prompt p, List<RgbImage> images, String id) {
        String question = p.questionText();
        String placeholders = Prompt.imagePlaceholders(images.size());
        return new Prompt(id, images, template.replace(IMAGES, placeholders).replace(QUESTION, question));
    }

    /** Options of {@link PreferencePairWriter}; {@link #sampler} is required. */
    public static final class Builder {
        private RolloutSampler sampler;
        private String goodPrompt = IMAGES + QUESTION + " Look at the image carefully and answer step by step.";
        private String poorPrompt = IMAGES + QUESTION;
        private ImageCorruption corruption = ImageCorruption.LOW_RESOLUTION;
        private SamplingParams sampling = SamplingParams.builder().responsesPerPrompt(1).temperature(0.7).topP(1.0)
                .maxNewTokens(512).build();
        private SamplingParams poorSampling;
        private long seed = 1;

        private Builder() {
        }

        /**
         * Required: the policy's sampler (any temperature: an evaluation sampler).
         *
         * @param sampler the new value
         * @return this builder
         */
        public Builder sampler(RolloutSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /**
         * The prompt of the preferred response (on the real image); needs {@code {images}} and {@code {question}}.
         *
         * @param template the new value
         * @return this builder
         */
        public Builder goodPrompt(String template) {
            this.goodPrompt = template;
            return this;
        }

        /**
         * The prompt of the dispreferred response (on the corrupted image); needs {@code {images}} and
         * {@code {question}}.
         *
         * @param template the new value
         * @return this builder
         */
        public Builder poorPrompt(String template) {
            this.poorPrompt = template;
            return this;
        }

        /**
         * How the dispreferred response's image is spoiled.
         *
         * @param corruption the new value
         * @return this builder
         */
        public Builder corruption(ImageCorruption corruption) {
            this.corruption = corruption;
            return this;
        }

        /**
         * How both responses are sampled (the first response of each group is used), unless
         * {@link #poorSampling} sets the dispreferred one's.
         *
         * @param params the new value
         * @return this builder
         */
        public Builder sampling(SamplingParams params) {
            this.sampling = params;
            return this;
        }

        /**
         * How the dispreferred response alone is sampled (e.g. hotter, as a poorer policy would). Default: as
         * {@link #sampling}.
         *
         * @param params the new value
         * @return this builder
         */
        public Builder poorSampling(SamplingParams params) {
            this.poorSampling = params;
            return this;
        }

        /**
         * The sampling seed.
         *
         * @param seed the new value
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** {@return the writer, its settings checked} */
        public PreferencePairWriter build() {
            if (sampler == null || corruption == null || sampling == null) {
                throw new IllegalStateException("PreferencePairWriter needs a sampler, a corruption and sampling "
                        + "settings");
            }
            for (String t : new String[] {goodPrompt, poorPrompt}) {
                if (t == null || !t.contains(IMAGES) || !t.contains(QUESTION)) {
                    throw new IllegalStateException("a STIC prompt needs " + IMAGES + " and " + QUESTION + ": " + t);
                }
            }
            if (goodPrompt.equals(poorPrompt) && corruption == ImageCorruption.NONE) {
                throw new IllegalStateException("the good and poor prompts are the same and the image is not "
                        + "corrupted: the two responses would differ by chance only");
            }
            return new PreferencePairWriter(this);
        }
    }
}
