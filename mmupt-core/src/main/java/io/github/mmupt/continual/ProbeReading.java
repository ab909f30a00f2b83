package io.github.mmupt.continual;

import io.github.mmupt.answer.AnswerEquivalence;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a fixed set of prompts answered by majority at one moment: per prompt, the majority answer (empty when
 * the vote abstained), and the mean vote share and answer rate. Comparing two readings shows drift without
 * labels: how many majority answers flipped, and whether answers concentrated on a few values.
 *
 * @param majorities the majority answer of each probe prompt, in the probe set's order
 * @param meanShare  mean share of the responses that agree with their prompt's majority
 * @param answerRate share of responses with an extractable answer
 */
public record ProbeReading(List<Optional<String>> majorities, double meanShare, double answerRate) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param majorities the component {@code majorities}, described with the class
     * @param meanShare the component {@code meanShare}, described with the class
     * @param answerRate the component {@code answerRate}, described with the class
     */
    public ProbeReading {
        if (majorities == null || majorities.isEmpty()) {
            throw new IllegalArgumentException("a probe reading needs at least one prompt's majority");
        }
        majorities = List.copyOf(majorities);
    }

    /**
     * The share of prompts whose majority answer differs from {@code earlier}'s (an abstention differs from any
     * answer).
     *
     * @param earlier a reading of the same probe set
     * @param equivalence when two answers are the same
     * @return the flipped share, in [0, 1]
     */
    public double flipsFrom(ProbeReading earlier, AnswerEquivalence equivalence) {
        if (earlier.majorities.size() != majorities.size()) {
            throw new IllegalArgumentException("the readings are of probe sets of different sizes: "
                    + earlier.majorities.size() + " and " + majorities.size());
        }
        int flips = 0;
        for (int i = 0; i < majorities.size(); i++) {
            Optional<String> a = earlier.majorities.get(i);
            Optional<String> b = majorities.get(i);
            boolean same = a.isPresent() && b.isPresent()
                    ? a.get().equals(b.get()) || equivalence.equivalent(a.get(), b.get())
                    : a.isEmpty() && b.isEmpty();
            if (!same) {
                flips++;
            }
        }
        return flips / (double) majorities.size();
    }

    /**
     * The share of prompts whose majority is the single most common majority answer: near 1 when one degenerate
     * answer wins every vote (the collapse of label-free RL reported by SRT, 2025).
     *
     * @param equivalence when two answers are the same
     * @return the concentration, in (0, 1]; abstentions count as their own class
     */
    public double concentration(AnswerEquivalence equivalence) {
        List<AnswerEquivalence.Prepared> classes = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int abstained = 0;
        for (Optional<String> m : majorities) {
            if (m.isEmpty()) {
                abstained++;
                continue;
            }
            AnswerEquivalence.Prepared prepared = equivalence.prepare(m.get());
            int found = -1;
            for (int c = 0; c < classes.size() && found < 0; c++) {
                if (equivalence.equivalent(classes.get(c), prepared)) {
                    found = c;
                }
            }
            if (found < 0) {
                classes.add(prepared);
                counts.add(1);
            } else {
                counts.set(found, counts.get(found) + 1);
            }
        }
        int mode = Math.max(abstained, counts.stream().mapToInt(Integer::intValue).max().orElse(0));
        return mode / (double) majorities.size();
    }
}
