package io.github.mmupt.synth;

import io.github.mmupt.data.Dataset;

/**
 * The questions a synthesis pass kept, as an unlabeled dataset whose examples carry their provenance, and the
 * counts of what each filter removed.
 */
public record SynthesisResult(Dataset dataset, SynthesisReport report) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param dataset the component {@code dataset}, described with the class
     * @param report the component {@code report}, described with the class
     */
    public SynthesisResult {
        if (dataset == null || report == null) {
            throw new IllegalArgumentException("dataset and report must not be null");
        }
    }
}
