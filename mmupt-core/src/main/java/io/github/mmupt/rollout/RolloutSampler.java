package io.github.mmupt.rollout;

import io.github.mmupt.prompt.Prompt;
import java.util.List;

/**
 * Samples N responses for each prompt from the current policy, recording each token's log-prob.
 *
 * <p>Lifecycle and ownership: a sampler is bound to one {@code Policy} and to the head being trained, and
 * samples with the head's weights as they are when {@link #sample} is called; it does not own or close
 * either. Threading: one call at a time; the head must not be updated while a call runs.
 *
 * <p>Determinism: the same prompts, parameters and seed give the same rollouts on the same backend and
 * thread count. Implementations derive an independent stream per prompt from {@code seed} and the prompt's
 * position, so the result does not depend on how prompts are batched or scheduled.
 */
public interface RolloutSampler {

    /**
     * Samples {@code params.responsesPerPrompt()} responses for each prompt.
     *
     * @param prompts the prompts
     * @param params how to sample
     * @param seed the root seed of this call
     * @return one group per prompt, in the order of {@code prompts}, each with its responses in sampling order
     */
    List<RolloutGroup> sample(List<Prompt> prompts, SamplingParams params, long seed);
}
