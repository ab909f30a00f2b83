package io.github.mmupt.eval;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.seed.Seeds;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Held-out accuracy as the paper reports it: pass@1 (one sample at a low temperature, MM-UPT's evaluation uses
 * 0.2) and majority@N (the majority-vote answer of N samples at the training temperature), against gold answers.
 *
 * <pre>{@code
 * EvalResult r = new Evaluator(evalSampler, AnswerEquivalence.standard()).evaluate(test, 0.2, 8, 0.7, 20, seed);
 * }</pre>
 */
public final class Evaluator {

    private final RolloutSampler sampler;
    private final AnswerEquivalence equivalence;

    /**
     * @param sampler a sampler that accepts any temperature (one built for evaluation)
     * @param equivalence which answers count as the gold one
     */
    public Evaluator(RolloutSampler sampler, AnswerEquivalence equivalence) {
        this.sampler = sampler;
        this.equivalence = equivalence;
    }

    /**
     * Evaluates without keeping the pass@1 samples (see the overload).
     *
     * @param examples labeled examples
     * @param passTemperature the temperature of the single pass@1 sample
     * @param n the samples of the majority vote
     * @param voteTemperature their temperature
     * @param maxNewTokens the length limit of a sample
     * @param seed the sampling seed
     * @return pass@1 and maj@n
     */
    public EvalResult evaluate(List<Example> examples, double passTemperature, int n, double voteTemperature,
            int maxNewTokens, long seed) {
        return evaluate(examples, passTemperature, n, voteTemperature, maxNewTokens, seed, passSamples -> { });
    }

    /**
     * As {@link #evaluate(List, double, int, double, int, long)}, and hands the pass@1 samples (one group of one
     * response per example, in order) to {@code passSamples}, for whoever wants to look at what was graded.
     *
     * @param examples labeled examples
     * @param passTemperature the temperature of the single pass@1 sample
     * @param n the samples of the majority vote
     * @param voteTemperature their temperature
     * @param maxNewTokens the length limit of a sample
     * @param seed the sampling seed
     * @param passSamples receives each example's graded pass@1 sample
     * @return pass@1 and maj@n
     */
    public EvalResult evaluate(List<Example> examples, double passTemperature, int n, double voteTemperature,
            int maxNewTokens, long seed, Consumer<List<RolloutGroup>> passSamples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("nothing to evaluate");
        }
        List<Prompt> prompts = examples.stream().map(Example::prompt).toList();
        List<String> gold = examples.stream().map(e -> e.goldAnswer().orElseThrow(() -> new IllegalArgumentException(
                "evaluation needs gold answers; example " + e.prompt().id() + " has none"))).toList();
        List<RolloutGroup> single = sampler.sample(prompts, SamplingParams.builder().responsesPerPrompt(1)
                .temperature(passTemperature).topP(1.0).maxNewTokens(maxNewTokens).build(), seed);
        passSamples.accept(single);
        List<RolloutGroup> many = sampler.sample(prompts, SamplingParams.builder().responsesPerPrompt(n)
                .temperature(voteTemperature).topP(1.0).maxNewTokens(maxNewTokens).build(), Seeds.evaluation(seed));
        MajorityVoteLabeler voter = MajorityVoteLabeler.builder().equivalence(equivalence).build();
        int pass = 0;
        int majority = 0;
        for (int i = 0; i < prompts.size(); i++) {
            if (correct(single.get(i).rollouts().get(0).answer(), gold.get(i))) {
                pass++;
            }
            VoteResult vote = voter.label(many.get(i).answers());
            if (correct(vote.label(), gold.get(i))) {
                majority++;
            }
        }
        return new EvalResult(prompts.size(), (double) pass / prompts.size(), (double) majority / prompts.size(), n);
    }

    private boolean correct(Optional<String> answer, String gold) {
        return answer.isPresent() && equivalence.equivalent(answer.get(), gold);
    }
}
