package io.github.mmupt.synth;

import io.github.mmupt.data.Dataset;

/**
 * The questions a synthesis pass kept, as an unlabeled dataset whose examples carry their provenance, and the
 * counts of what each filter removed.
 */
public record SynthesisResult(Dataset dataset, SynthesisReport report) {

    public SynthesisResult {
        if (dataset == null || report == null) {
            throw new IllegalArgumentException("dataset and report must not be null");
        }
    }
}
