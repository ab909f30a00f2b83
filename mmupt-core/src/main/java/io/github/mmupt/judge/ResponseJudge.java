package io.github.mmupt.judge;

import io.github.mmupt.rollout.RolloutGroup;
import java.util.List;
import java.util.OptionalDouble;

/**
 * Scores sampled responses without any ground truth: the reward seam of SRLM (the policy judging its own
 * responses) and of MM-UPT blended with a judge ({@link JudgeReward}). The judge gets the sampled groups only,
 * question and responses, so, like {@link io.github.mmupt.vote.PseudoLabeler}, no gold answer can reach it.
 *
 * <p>{@link SamplerJudge} has a model write the judgment ({@link SamplerJudge#builder()}: the policy's own
 * sampler for SRLM, or another {@code Policy}'s as a separate judge); implement this interface for any other
 * scorer (a reward model, a rule).
 *
 * <pre>{@code
 * ResponseJudge judge = SamplerJudge.builder().sampler(judgeSampler).prompt(JudgePrompt.standard()).build();
 * List<List<OptionalDouble>> scores = judge.judge(groups, 42);  // scores.get(g).get(r) in [0, 1], or empty
 * }</pre>
 *
 * <p>Determinism: the same groups and seed must give the same scores.
 */
public interface ResponseJudge {

    /**
     * Scores every response of every group.
     *
     * @param groups the sampled groups, in order
     * @param seed the seed of any sampling the judge does
     * @return per group, per response in sampling order, a score in [0, 1], or empty where the judge gave none
     */
    List<List<OptionalDouble>> judge(List<RolloutGroup> groups, long seed);
}
