package io.github.mmupt.continual;

import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.vote.PseudoLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A fixed set of unlabeled prompts re-asked after every window of a continual run: N responses each, with the
 * same sampling seed every time, so two readings differ by what the model learned and not by sampling luck.
 *
 * <pre>{@code
 * ProbeSet probe = ProbeSet.of(heldBackPrompts, 424242);
 * ProbeReading now = probe.measure(sampler, sampling, labeler);
 * }</pre>
 *
 * @param prompts the probe prompts (1 to {@value #MAX_PROMPTS})
 * @param seed    the sampling seed used at every reading
 */
public record ProbeSet(List<Prompt> prompts, long seed) {

    /** At most this many prompts: each reading samples N responses for every one of them. */
    public static final int MAX_PROMPTS = 4096;

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param prompts the component {@code prompts}, described with the class
     * @param seed the component {@code seed}, described with the class
     */
    public ProbeSet {
        if (prompts == null || prompts.isEmpty() || prompts.size() > MAX_PROMPTS) {
            throw new IllegalArgumentException("a probe set needs 1 to " + MAX_PROMPTS + " prompts, got "
                    + (prompts == null ? "null" : prompts.size()));
        }
        prompts = List.copyOf(prompts);
    }

    /**
     * A probe set.
     *
     * @param prompts the prompts
     * @param seed the sampling seed of every reading
     * @return the probe set
     */
    public static ProbeSet of(List<Prompt> prompts, long seed) {
        return new ProbeSet(prompts, seed);
    }

    /**
     * Samples and votes on every probe prompt with the model as it is now.
     *
     * @param sampler the run's sampler (its head is the one being trained)
     * @param sampling the run's sampling settings
     * @param labeler the run's labeler
     * @return the reading
     */
    public ProbeReading measure(RolloutSampler sampler, SamplingParams sampling, PseudoLabeler labeler) {
        List<VoteResult> votes = votes(sampler, sampling, labeler);
        List<Optional<String>> majorities = new ArrayList<>();
        double share = 0;
        double answered = 0;
        for (VoteResult v : votes) {
            majorities.add(v.label());
            share += v.majorityShare();
            answered += v.answerRate();
        }
        return new ProbeReading(majorities, share / votes.size(), answered / votes.size());
    }

    /** The vote on each probe prompt, in order. */
    List<VoteResult> votes(RolloutSampler sampler, SamplingParams sampling, PseudoLabeler labeler) {
        List<RolloutGroup> groups = sampler.sample(prompts, sampling, seed);
        if (groups.size() != prompts.size()) {
            throw new IllegalStateException("the sampler returned " + groups.size() + " groups for " + prompts.size()
                    + " probe prompts");
        }
        List<VoteResult> votes = new ArrayList<>();
        for (RolloutGroup g : groups) {
            votes.add(labeler.label(g.answers()));
        }
        return votes;
    }
}
