package io.github.mmupt.judge;

import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * A judge that is a model: each response is put before it with the {@link JudgePrompt}, it writes
 * {@code judgments} replies (default 1, at temperature 0.2, up to 32 tokens), each reply is read by
 * {@link JudgeScores}, and the response's score is the mean of the readable ones, normalised to [0, 1]; a response
 * none of whose judgments can be read has no score. With the policy's own sampler it is SRLM's self-judge; with
 * another policy's sampler, a separate judge.
 *
 * <pre>{@code
 * ResponseJudge self = SamplerJudge.builder().sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed()))
 *         .prompt(JudgePrompt.standard())
 *         .judging(SamplingParams.builder().responsesPerPrompt(1).temperature(0.2).maxNewTokens(32).build())
 *         .build();
 * }</pre>
 *
 * <p>Not thread-safe beyond what its sampler is; it holds no resources of its own (the caller owns the sampler).
 */
public final class SamplerJudge implements ResponseJudge {

    private final RolloutSampler sampler;
    private final JudgePrompt prompt;
    private final SamplingParams judging;

    private SamplerJudge(Builder b) {
        this.sampler = b.sampler;
        this.prompt = b.prompt;
        this.judging = b.judging;
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the judging prompt and scale} */
    public JudgePrompt prompt() {
        return prompt;
    }

    @Override
    public List<List<OptionalDouble>> judge(List<RolloutGroup> groups, long seed) {
        List<Prompt> prompts = new ArrayList<>();
        for (RolloutGroup g : groups) {
            for (int r = 0; r < g.size(); r++) {
                prompts.add(prompt.render(g.prompt(), g.rollouts().get(r).text(), g.prompt().id() + "#judge-" + r));
            }
        }
        List<RolloutGroup> judged = prompts.isEmpty() ? List.of() : sampler.sample(prompts, judging, seed);
        if (judged.size() != prompts.size()) {
            throw new IllegalStateException("the judge's sampler returned " + judged.size() + " groups for "
                    + prompts.size() + " judging prompts");
        }
        List<List<OptionalDouble>> out = new ArrayList<>();
        int k = 0;
        for (RolloutGroup g : groups) {
            List<OptionalDouble> scores = new ArrayList<>();
            for (int r = 0; r < g.size(); r++) {
                scores.add(score(judged.get(k++).rollouts()));
            }
            out.add(List.copyOf(scores));
        }
        return List.copyOf(out);
    }

    private OptionalDouble score(List<Rollout> judgments) {
        double sum = 0;
        int read = 0;
        for (Rollout j : judgments) {
            OptionalDouble s = JudgeScores.parse(j.text(), prompt.minScore(), prompt.maxScore());
            if (s.isPresent()) {
                sum += prompt.normalise(s.getAsDouble());
                read++;
            }
        }
        return read == 0 ? OptionalDouble.empty() : OptionalDouble.of(sum / read);
    }

    /** Options of {@link SamplerJudge}; {@link #sampler} is required. */
    public static final class Builder {
        private RolloutSampler sampler;
        private JudgePrompt prompt = JudgePrompt.standard();
        private SamplingParams judging = SamplingParams.builder().responsesPerPrompt(1).temperature(0.2).topP(1.0)
                .maxNewTokens(32).build();

        private Builder() {
        }

        /**
         * Required: the sampler of the judging model (the policy's own for SRLM).
         *
         * @param sampler the new value
         * @return this builder
         */
        public Builder sampler(RolloutSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /**
         * The judging prompt and scale. Default {@link JudgePrompt#standard()}.
         *
         * @param prompt the new value
         * @return this builder
         */
        public Builder prompt(JudgePrompt prompt) {
            this.prompt = prompt;
            return this;
        }

        /**
         * How judgments are written; {@code responsesPerPrompt} is the number of judgments averaged per response.
         * Default 1 judgment at temperature 0.2, top-p 1, up to 32 new tokens.
         *
         * @param params the new value
         * @return this builder
         */
        public Builder judging(SamplingParams params) {
            this.judging = params;
            return this;
        }

        /** {@return the judge} */
        public SamplerJudge build() {
            if (sampler == null || prompt == null || judging == null) {
                throw new IllegalStateException("SamplerJudge needs a sampler, a prompt and judging settings (null given)");
            }
            return new SamplerJudge(this);
        }
    }
}
