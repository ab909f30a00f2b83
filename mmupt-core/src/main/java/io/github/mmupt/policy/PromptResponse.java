package io.github.mmupt.policy;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.prompt.Prompt;

/**
 * A prompt and the response tokens to score after it.
 *
 * @param prompt         the prompt, encoded by the policy (chat template, image tokens)
 * @param responseTokens [L] the response's token ids, L >= 1
 */
public record PromptResponse(Prompt prompt, ImmutableIntArray responseTokens) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param prompt the component {@code prompt}, described with the class
     * @param responseTokens the component {@code responseTokens}, described with the class
     */
    public PromptResponse {
        if (prompt == null || responseTokens == null) {
            throw new IllegalArgumentException("prompt and responseTokens must not be null");
        }
        if (responseTokens.isEmpty()) {
            throw new IllegalArgumentException("prompt " + prompt.id() + ": a response needs at least one token");
        }
    }
}
