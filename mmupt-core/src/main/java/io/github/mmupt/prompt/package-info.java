/** Unlabeled multimodal prompts: images and a question with {@code <image>} placeholders. */
package io.github.mmupt.prompt;
