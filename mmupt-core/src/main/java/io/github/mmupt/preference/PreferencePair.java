package io.github.mmupt.preference;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.prompt.Prompt;

/**
 * One DPO example: a prompt and two responses to it, the preferred ({@code chosen}) and the dispreferred
 * ({@code rejected}), as tokens (what is trained on) and text (what a person reads).
 *
 * <pre>{@code
 * PreferencePair p = new PreferencePair(prompt, ImmutableIntArray.of(5, 9, 0), "Red 2 \\boxed{2}",
 *         ImmutableIntArray.of(5, 7, 0), "Red 0 \\boxed{0}");
 * }</pre>
 *
 * @param prompt the prompt both responses answer (the real image and the plain question)
 * @param chosen the preferred response's tokens, end-of-sequence included when it stopped
 * @param chosenText its text
 * @param rejected the dispreferred response's tokens
 * @param rejectedText its text
 */
public record PreferencePair(Prompt prompt, ImmutableIntArray chosen, String chosenText, ImmutableIntArray rejected,
        String rejectedText) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param prompt the component {@code prompt}, described with the class
     * @param chosen the component {@code chosen}, described with the class
     * @param chosenText the component {@code chosenText}, described with the class
     * @param rejected the component {@code rejected}, described with the class
     * @param rejectedText the component {@code rejectedText}, described with the class
     */
    public PreferencePair {
        if (prompt == null || chosen == null || rejected == null || chosenText == null || rejectedText == null) {
            throw new IllegalArgumentException("a preference pair needs a prompt and both responses (null given)");
        }
        if (chosen.isEmpty() || rejected.isEmpty()) {
            throw new IllegalArgumentException("pair " + prompt.id() + ": both responses need at least one token");
        }
    }
}
