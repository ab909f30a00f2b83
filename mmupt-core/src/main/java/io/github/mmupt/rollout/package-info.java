/**
 * Sampled responses: {@link io.github.mmupt.rollout.Rollout} (tokens, log-probs, text, answer), groups of N
 * per prompt, and the {@link io.github.mmupt.rollout.RolloutSampler} seam.
 */
package io.github.mmupt.rollout;
