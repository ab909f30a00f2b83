package io.github.mmupt.prompt;

import java.util.Collections;
import java.util.List;

/**
 * One unlabeled multimodal question: its images and its text. The text marks where each image goes with the
 * placeholder {@value #IMAGE_PLACEHOLDER}, as MM-UPT's datasets do; a prompt with images and no placeholder
 * puts them all before the text. There is deliberately no answer here: ground truth, where a dataset has it,
 * travels separately and only to monitoring code, so it cannot reach the reward.
 *
 * <pre>{@code
 * Prompt prompt = new Prompt("geo-17", List.of(image), "<image>How many red circles are there?");
 * }</pre>
 *
 * @param id       a stable identifier, unique within a dataset (used for determinism and provenance)
 * @param images   the images, in placeholder order
 * @param question the question text, with {@value #IMAGE_PLACEHOLDER} placeholders
 */
public record Prompt(String id, List<RgbImage> images, String question) {

    /** Where an image goes in the question text. */
    public static final String IMAGE_PLACEHOLDER = "<image>";

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param id the component {@code id}, described with the class
     * @param images the component {@code images}, described with the class
     * @param question the component {@code question}, described with the class
     */
    public Prompt {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("prompt id must not be blank");
        }
        if (images == null) {
            throw new IllegalArgumentException("prompt " + id + ": images must not be null (use List.of())");
        }
        images = List.copyOf(images);
        if (question == null || question.isBlank()) {
            throw new IllegalArgumentException("prompt " + id + ": question must not be blank");
        }
        int placeholders = placeholderCount(question);
        if (placeholders != 0 && placeholders != images.size()) {
            throw new IllegalArgumentException("prompt " + id + ": the question has " + placeholders + " "
                    + IMAGE_PLACEHOLDER + " placeholders but " + images.size() + " images were given");
        }
    }

    /**
     * Number of {@value #IMAGE_PLACEHOLDER} placeholders in {@code text}.
     *
     * @param text a question
     * @return how many placeholders it has
     */
    public static int placeholderCount(String text) {
        int count = 0;
        for (int at = text.indexOf(IMAGE_PLACEHOLDER); at >= 0;
                at = text.indexOf(IMAGE_PLACEHOLDER, at + IMAGE_PLACEHOLDER.length())) {
            count++;
        }
        return count;
    }

    /**
     * The question without its image placeholders, white space collapsed: what a template quotes when it places
     * the images itself.
     *
     * @return the question's text
     */
    public String questionText() {
        return question.replace(IMAGE_PLACEHOLDER, " ").strip().replaceAll("\\s+", " ");
    }

    /**
     * One {@value #IMAGE_PLACEHOLDER} per image, separated by spaces.
     *
     * @param count how many images
     * @return the placeholders
     */
    public static String imagePlaceholders(int count) {
        return String.join(" ", Collections.nCopies(count, IMAGE_PLACEHOLDER));
    }

    /**
     * {@code text} with each {@value #IMAGE_PLACEHOLDER} written as {@code <image >}, so that quoting untrusted
     * text (a response, a written question) in a prompt cannot add an image slot.
     *
     * @param text untrusted text
     * @return the text without placeholders
     */
    public static String escapePlaceholders(String text) {
        return text.replace(IMAGE_PLACEHOLDER, "<image >");
    }
}
