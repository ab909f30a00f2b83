package io.github.mmupt.data;

import java.util.Optional;

/**
 * Where a synthesized question came from: the strategy that wrote it, the example whose images it is about
 * (its images are that example's), the original question and the answer shown to the writer. Kept with the
 * example through datasets and JSONL files; training never reads it.
 *
 * <pre>{@code
 * example.provenance().ifPresent(p -> log.info("{} question from {}", p.strategy(), p.sourceId()));
 * }</pre>
 *
 * @param strategy       how the question was written, e.g. {@code in_context} or {@code direct}
 * @param sourceId       id of the original example (its images are the new question's)
 * @param sourceQuestion the original question text
 * @param sourceAnswer   the answer shown with it (in-context synthesizing), if any
 * @param candidate      index of this question among the candidates written for the source, 0-based
 */
public record Provenance(String strategy, String sourceId, String sourceQuestion, Optional<String> sourceAnswer,
        int candidate) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param strategy the component {@code strategy}, described with the class
     * @param sourceId the component {@code sourceId}, described with the class
     * @param sourceQuestion the component {@code sourceQuestion}, described with the class
     * @param sourceAnswer the component {@code sourceAnswer}, described with the class
     * @param candidate the component {@code candidate}, described with the class
     */
    public Provenance {
        if (strategy == null || strategy.isBlank() || sourceId == null || sourceQuestion == null || sourceAnswer == null) {
            throw new IllegalArgumentException("provenance needs a strategy, a source id, the source question and an "
                    + "Optional source answer");
        }
        if (candidate < 0) {
            throw new IllegalArgumentException("candidate index must be >= 0, got " + candidate);
        }
    }
}
