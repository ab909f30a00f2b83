package io.github.mmupt.synth;

import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import java.util.Optional;

/**
 * The templates of question synthesis, replaceable as a whole or one by one. Placeholders: {@code {images}}
 * (one {@code <image>} per image of the original, separated by spaces), {@code {question}} (the original
 * question without its image placeholders) and {@code {answer}}.
 *
 * <p>The defaults ({@link #defaults()}) follow the structure the paper describes (its exact wording was not
 * published):
 * <pre>
 * in-context: {images}Here is a question about the image and its answer.
 *             Question: {question}
 *             Answer: {answer}
 *             Write one new question about the same image that is different from this one and has a single,
 *             checkable answer. Reply with the new question only.
 * direct:     {images}Write one question about this image that has a single, checkable answer. Reply with the
 *             question only.
 * new question (the prompt the synthesized question is trained on): {images}{question}
 * </pre>
 *
 * <pre>{@code
 * SynthesisPrompts prompts = SynthesisPrompts.defaults().withDirect("{images} new question :");
 * }</pre>
 *
 * @param inContext   the in-context writer prompt; needs {@code {images}}, {@code {question}} and {@code {answer}}
 * @param direct      the direct writer prompt; needs {@code {images}}, and must not use the question or answer
 * @param newQuestion how a written question becomes a training prompt; needs {@code {images}} and {@code {question}}
 */
public record SynthesisPrompts(String inContext, String direct, String newQuestion) {

    /** Where the images go. */
    public static final String IMAGES = "{images}";
    /** Where the original question goes (in-context only). */
    public static final String QUESTION = "{question}";
    /** Where the answer goes (in-context only). */
    public static final String ANSWER = "{answer}";

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param inContext the component {@code inContext}, described with the class
     * @param direct the component {@code direct}, described with the class
     * @param newQuestion the component {@code newQuestion}, described with the class
     */
    public SynthesisPrompts {
        require("in-context", inContext, IMAGES, QUESTION, ANSWER);
        require("direct", direct, IMAGES);
        require("new-question", newQuestion, IMAGES, QUESTION);
        if (direct.contains(QUESTION) || direct.contains(ANSWER)) {
            throw new IllegalArgumentException("the direct template sees the image only; it must not use " + QUESTION
                    + " or " + ANSWER + ": " + direct);
        }
    }

    private static void require(String which, String template, String... placeholders) {
        if (template == null || template.isBlank()) {
            throw new IllegalArgumentException("the " + which + " template must not be blank");
        }
        for (String p : placeholders) {
            if (!template.contains(p)) {
                throw new IllegalArgumentException("the " + which + " template needs the placeholder " + p + ": " + template);
            }
        }
    }

    /** {@return the documented default templates} */
    public static SynthesisPrompts defaults() {
        return new SynthesisPrompts(
                IMAGES + "Here is a question about the image and its answer.\nQuestion: " + QUESTION + "\nAnswer: " + ANSWER
                        + "\nWrite one new question about the same image that is different from this one and has a "
                        + "single, checkable answer. Reply with the new question only.",
                IMAGES + "Write one question about this image that has a single, checkable answer. Reply with the "
                        + "question only.",
                IMAGES + QUESTION);
    }

    /**
     * These prompts with another in-context template.
     *
     * @param template a template with {@value #IMAGES}, {@value #QUESTION} and {@value #ANSWER}
     * @return the changed prompts
     */
    public SynthesisPrompts withInContext(String template) {
        return new SynthesisPrompts(template, direct, newQuestion);
    }

    /**
     * These prompts with another direct template.
     *
     * @param template a template with {@value #IMAGES}
     * @return the changed prompts
     */
    public SynthesisPrompts withDirect(String template) {
        return new SynthesisPrompts(inContext, template, newQuestion);
    }

    /**
     * These prompts with another template for asking a written question.
     *
     * @param template a template with {@value #IMAGES} and {@value #QUESTION}
     * @return the changed prompts
     */
    public SynthesisPrompts withNewQuestion(String template) {
        return new SynthesisPrompts(inContext, direct, template);
    }

    /**
     * The prompt that asks the policy for a new question about {@code source}'s images.
     *
     * @param answer the answer to show (in-context only; ignored by the direct template)
     * @param strategy in-context or direct
     * @param source the example whose images are shown
     * @param id the new prompt's id
     * @return the prompt
     */
    public Prompt writerPrompt(SynthesisStrategy strategy, Example source, Optional<String> answer, String id) {
        Prompt p = source.prompt();
        String text;
        if (strategy == SynthesisStrategy.IN_CONTEXT) {
            String a = answer.orElseThrow(() -> new IllegalArgumentException("in-context synthesizing needs an answer for "
                    + p.id()));
            text = inContext.replace(IMAGES, images(p)).replace(QUESTION, questionText(p)).replace(ANSWER, a);
        } else {
            text = direct.replace(IMAGES, images(p));
        }
        return new Prompt(id, p.images(), text);
    }

    /**
     * The training prompt of a written question: {@code source}'s images and the new text.
     *
     * @param source the example whose images are shown
     * @param question the written question
     * @param id the new prompt's id
     * @return the prompt
     */
    public Prompt newQuestion(Example source, String question, String id) {
        return new Prompt(id, source.prompt().images(), newQuestion.replace(IMAGES, images(source.prompt()))
                .replace(QUESTION, question));
    }

    /**
     * A question's text without its image placeholders, whitespace collapsed.
     *
     * @param p a prompt
     * @return its question without placeholders
     */
    public static String questionText(Prompt p) {
        return p.questionText();
    }

    private static String images(Prompt p) {
        return Prompt.imagePlaceholders(p.images().size());
    }
}
