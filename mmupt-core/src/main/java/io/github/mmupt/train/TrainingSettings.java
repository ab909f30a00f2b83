package io.github.mmupt.train;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.grpo.AdvantageEstimator;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.vote.PseudoLabeler;
import java.util.Optional;

/**
 * The resolved settings of a run, as {@code MmUpt.Builder} checked them. See the builder for what each does,
 * its default and its source.
 *
 * @param mode                what rewards or targets come from
 * @param steps               steps to run (in total, counting steps a resumed run already did)
 * @param promptsPerStep      prompts sampled (or gold examples taken, in SFT) per step
 * @param promptsPerMiniBatch prompts per optimizer update; divides {@code promptsPerStep}
 * @param iterations          passes over each step's mini-batches (PPO epochs, mu)
 * @param microBatchSequences sequences per kernel call; bounds memory, not the result
 * @param sampling            rollout settings
 * @param labeler             the pseudo-labeler (UPT); also monitors votes in supervised GRPO
 * @param advantages          the advantage estimator
 * @param equivalence         answer equivalence for gold rewards and monitoring
 * @param seed                the root seed of sampling and data order
 * @param hiddenStateCacheBytes keep a step's hidden states between its passes when they need at most this many
 *                            bytes, else recompute them per micro-batch; bounds memory, not the result
 * @param judge               the judge and its share of the reward: required by SRLM (weight 1), optional in UPT (a
 *                            vote-judge blend), refused by the other modes
 * @param trainHead           whether the head trains (default); false holds it frozen while the trunk's adapters
 *                            train alone
 */
public record TrainingSettings(TrainingMode mode, long steps, int promptsPerStep, int promptsPerMiniBatch, int iterations,
        int microBatchSequences, SamplingParams sampling, PseudoLabeler labeler, AdvantageEstimator advantages,
        AnswerEquivalence equivalence, long seed, long hiddenStateCacheBytes, Optional<JudgeReward> judge,
        boolean trainHead) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param mode the component {@code mode}, described with the class
     * @param steps the component {@code steps}, described with the class
     * @param promptsPerStep the component {@code promptsPerStep}, described with the class
     * @param promptsPerMiniBatch the component {@code promptsPerMiniBatch}, described with the class
     * @param iterations the component {@code iterations}, described with the class
     * @param microBatchSequences the component {@code microBatchSequences}, described with the class
     * @param sampling the component {@code sampling}, described with the class
     * @param labeler the component {@code labeler}, described with the class
     * @param advantages the component {@code advantages}, described with the class
     * @param equivalence the component {@code equivalence}, described with the class
     * @param seed the component {@code seed}, described with the class
     * @param hiddenStateCacheBytes the component {@code hiddenStateCacheBytes}, described with the class
     * @param judge the component {@code judge}, described with the class
     * @param trainHead the component {@code trainHead}, described with the class
     */
    public TrainingSettings {
        if (mode == null || sampling == null || labeler == null || advantages == null || equivalence == null
                || judge == null) {
            throw new IllegalArgumentException("mode, sampling, labeler, advantages, equivalence and judge (Optional) "
                    + "must be set");
        }
        if (mode == TrainingMode.SRLM && (judge.isEmpty() || judge.get().judgeWeight() != 1.0)) {
            throw new IllegalArgumentException(judge.isEmpty() ? "SRLM rewards come from a judge: set one (e.g. a "
                    + "SamplerJudge on the policy's own sampler)" : "SRLM's rewards are the judge's alone (weight 1), got "
                    + "weight " + judge.get().judgeWeight() + "; a vote-judge blend is TrainingMode.UPT with a judge");
        }
        if (judge.isPresent() && mode != TrainingMode.SRLM && mode != TrainingMode.UPT) {
            throw new IllegalArgumentException(mode + " does not use a judge (only SRLM and UPT do)");
        }
        if (steps < 1 || promptsPerStep < 1 || promptsPerMiniBatch < 1 || iterations < 1 || microBatchSequences < 1) {
            throw new IllegalArgumentException("steps, promptsPerStep, promptsPerMiniBatch, iterations and "
                    + "microBatchSequences must be >= 1");
        }
        if (hiddenStateCacheBytes < 0) {
            throw new IllegalArgumentException("hiddenStateCacheBytes must be >= 0 (0: always recompute), got "
                    + hiddenStateCacheBytes);
        }
        if (promptsPerStep % promptsPerMiniBatch != 0) {
            throw new IllegalArgumentException("promptsPerStep (" + promptsPerStep + ") must be a multiple of "
                    + "promptsPerMiniBatch (" + promptsPerMiniBatch + "): a mini-batch holds whole groups of responses");
        }
        if (mode != TrainingMode.SFT && sampling.responsesPerPrompt() < 2) {
            throw new IllegalArgumentException("group-normalized advantages need at least 2 responses per prompt, got "
                    + sampling.responsesPerPrompt());
        }
    }
}
