package io.github.mmupt.data;

import io.github.mmupt.prompt.Prompt;
import java.util.Optional;

/**
 * One dataset item: a prompt and, where the dataset has them, its gold answer and a gold response. Training
 * code hands only the prompt to sampling and voting; the gold fields go to monitoring, to supervised GRPO and
 * to SFT.
 *
 * @param prompt       the question and its images
 * @param goldAnswer   the reference final answer, if known
 * @param goldResponse a full reference response (reasoning and boxed answer) for SFT, if known
 * @param provenance   for a synthesized question, where it came from; never read by training
 */
public record Example(Prompt prompt, Optional<String> goldAnswer, Optional<String> goldResponse,
        Optional<Provenance> provenance) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param prompt the component {@code prompt}, described with the class
     * @param goldAnswer the component {@code goldAnswer}, described with the class
     * @param goldResponse the component {@code goldResponse}, described with the class
     * @param provenance the component {@code provenance}, described with the class
     */
    public Example {
        if (prompt == null || goldAnswer == null || goldResponse == null || provenance == null) {
            throw new IllegalArgumentException("prompt, goldAnswer, goldResponse and provenance must not be null (use "
                    + "Optional.empty())");
        }
    }

    /** An example that was not synthesized. */
    /**
     * An example without provenance.
     *
     * @param prompt the question and its images
     * @param goldAnswer the gold final answer, if known (monitoring only in UPT)
     * @param goldResponse a gold response, if known (for SFT)
     */
    public Example(Prompt prompt, Optional<String> goldAnswer, Optional<String> goldResponse) {
        this(prompt, goldAnswer, goldResponse, Optional.empty());
    }

    /**
     * An unlabeled example.
     *
     * @param prompt the question and its images
     * @return an example without gold fields
     */
    public static Example unlabeled(Prompt prompt) {
        return new Example(prompt, Optional.empty(), Optional.empty());
    }

    /** {@return the same prompt without any gold field (provenance is kept: it says where the question came from)} */
    public Example withoutLabels() {
        return new Example(prompt, Optional.empty(), Optional.empty(), provenance);
    }
}
