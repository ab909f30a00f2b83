package io.github.mmupt.continual;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.data.Example;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.vote.PseudoLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.List;
import java.util.Optional;

/**
 * A small labeled set, supplied by the user, whose accuracy (the share of N sampled answers per example that
 * are right) a continual run re-measures after every window: the strongest guard signal, and the one place labels enter a continual run. They are used
 * to decide whether to publish or roll back, never to train (no reward, loss or sample is derived from them).
 *
 * <pre>{@code
 * CanarySet canary = CanarySet.of(fiftyLabeledExamples, 7);
 * }</pre>
 *
 * @param examples labeled examples (each with a gold answer), 1 to {@value ProbeSet#MAX_PROMPTS}
 * @param seed     the sampling seed used at every reading
 */
public record CanarySet(List<Example> examples, long seed) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param examples the component {@code examples}, described with the class
     * @param seed the component {@code seed}, described with the class
     */
    public CanarySet {
        if (examples == null || examples.isEmpty() || examples.size() > ProbeSet.MAX_PROMPTS) {
            throw new IllegalArgumentException("a canary set needs 1 to " + ProbeSet.MAX_PROMPTS + " examples, got "
                    + (examples == null ? "null" : examples.size()));
        }
        for (Example e : examples) {
            if (e.goldAnswer().isEmpty()) {
                throw new IllegalArgumentException("canary example " + e.prompt().id() + " has no gold answer; a "
                        + "canary set is labeled");
            }
        }
        examples = List.copyOf(examples);
    }

    /**
     * A canary set.
     *
     * @param examples labeled examples
     * @param seed the sampling seed of every reading
     * @return the canary set
     */
    public static CanarySet of(List<Example> examples, long seed) {
        return new CanarySet(examples, seed);
    }

    /**
     * The share of all sampled canary responses whose answer equals the gold answer (the mean accuracy of N
     * samples per example, avg@N), with the model as it is now. This is the expected pass@1 at the sampling
     * temperature, measured with N samples an example rather than one: majority-vote accuracy would be the wrong
     * yardstick, as MM-UPT sharpens single answers toward a majority that often stays the same.
     *
     * @param sampler the run's sampler
     * @param sampling the run's sampling settings
     * @param labeler the run's labeler (it sees sampled answers only)
     * @param equivalence when an answer equals the gold one
     * @return the accuracy, in [0, 1]
     */
    public double accuracy(RolloutSampler sampler, SamplingParams sampling, PseudoLabeler labeler,
            AnswerEquivalence equivalence) {
        List<VoteResult> votes = new ProbeSet(examples.stream().map(Example::prompt).toList(), seed)
                .votes(sampler, sampling, labeler);
        long correct = 0;
        long responses = 0;
        for (int i = 0; i < votes.size(); i++) {
            AnswerEquivalence.Prepared gold = equivalence.prepare(examples.get(i).goldAnswer().orElseThrow());
            for (Optional<String> answer : votes.get(i).answers()) {
                responses++;
                if (answer.isPresent() && equivalence.equivalent(equivalence.prepare(answer.get()), gold)) {
                    correct++;
                }
            }
        }
        return responses == 0 ? 0.0 : correct / (double) responses;
    }
}
