package io.github.mmupt.synth;

import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import java.util.Locale;
import java.util.Optional;

/**
 * The templates of Genixer-style question-answer synthesizing ({@link QaSynthesizer}): the writer prompt (image
 * only in; a question and its answer out), the marker that separates the two in the reply, and how a written
 * question becomes a training prompt. Placeholders: {@code {images}} (one {@code <image>} per image) and, in the
 * new-question template, {@code {question}}.
 *
 * <p>The defaults ({@link #defaults()}) follow Genixer's instruction-data format (Zhao et al., 2024), shortened:
 * <pre>
 * writer:       {images}Write one question about this image that has a single, checkable answer, then its answer.
 *               Reply as: Question: ... Answer: ...
 * marker:       Answer:
 * new question: {images}{question}
 * </pre>
 * A reply is split at the <em>last</em> marker (any case): the question is what comes before it (a leading
 * {@code Question:} removed), the answer what follows (a {@code \boxed{...}} around it, and a final period,
 * removed).
 *
 * <pre>{@code
 * QaPrompts tiny = new QaPrompts("{images} new question answer :", "answer", "{images} {question}");
 * }</pre>
 *
 * @param writer the writer prompt; needs {@code {images}}
 * @param answerMarker what separates question from answer in a reply; not blank
 * @param newQuestion how a written question becomes a prompt; needs {@code {images}} and {@code {question}}
 */
public record QaPrompts(String writer, String answerMarker, String newQuestion) {

    /** Answers longer than this are not short answers and are dropped. */
    public static final int MAX_ANSWER_CHARS = 64;

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param writer the component {@code writer}, described with the class
     * @param answerMarker the component {@code answerMarker}, described with the class
     * @param newQuestion the component {@code newQuestion}, described with the class
     */
    public QaPrompts {
        if (writer == null || !writer.contains(SynthesisPrompts.IMAGES)) {
            throw new IllegalArgumentException("the question-answer writer template needs " + SynthesisPrompts.IMAGES
                    + ": " + writer);
        }
        if (answerMarker == null || answerMarker.isBlank()) {
            throw new IllegalArgumentException("the answer marker must not be blank");
        }
        if (newQuestion == null || !newQuestion.contains(SynthesisPrompts.IMAGES)
                || !newQuestion.contains(SynthesisPrompts.QUESTION)) {
            throw new IllegalArgumentException("the new-question template needs " + SynthesisPrompts.IMAGES + " and "
                    + SynthesisPrompts.QUESTION + ": " + newQuestion);
        }
    }

    /** {@return the documented defaults} */
    public static QaPrompts defaults() {
        return new QaPrompts(SynthesisPrompts.IMAGES + "Write one question about this image that has a single, checkable "
                + "answer, then its answer. Reply as: Question: ... Answer: ...", "Answer:",
                SynthesisPrompts.IMAGES + SynthesisPrompts.QUESTION);
    }

    /**
     * The writer prompt for {@code source}'s images (its question and any label are not shown).
     *
     * @param source the example whose images are shown
     * @param id the prompt's id
     * @return the prompt
     */
    public Prompt writerPrompt(Example source, String id) {
        return new Prompt(id, source.prompt().images(), writer.replace(SynthesisPrompts.IMAGES, images(source.prompt())));
    }

    /**
     * The training prompt of a written question.
     *
     * @param source the example whose images are shown
     * @param question the written question
     * @param id the prompt's id
     * @return the prompt
     */
    public Prompt newQuestion(Example source, String question, String id) {
        String safe = Prompt.escapePlaceholders(question);
        return new Prompt(id, source.prompt().images(), newQuestion.replace(SynthesisPrompts.IMAGES,
                images(source.prompt())).replace(SynthesisPrompts.QUESTION, safe));
    }

    /**
     * Splits a reply into question and answer.
     *
     * @param reply the writer's text (untrusted)
     * @return {question, answer}, or empty when there is no marker, or either part is blank, or the answer is longer
     *         than {@value #MAX_ANSWER_CHARS} characters
     */
    public Optional<String[]> split(String reply) {
        String lower = reply.toLowerCase(Locale.ROOT);
        int at = lower.lastIndexOf(answerMarker.toLowerCase(Locale.ROOT));
        if (at < 0) {
            return Optional.empty();
        }
        String question = reply.substring(0, at).strip();
        if (question.toLowerCase(Locale.ROOT).startsWith("question:")) {
            question = question.substring("question:".length()).strip();
        }
        String answer = reply.substring(at + answerMarker.length()).strip();
        if (answer.startsWith(":")) {
            answer = answer.substring(1).strip();
        }
        if (answer.endsWith(".")) {
            answer = answer.substring(0, answer.length() - 1).strip();
        }
        if (answer.startsWith("\\boxed{") && answer.endsWith("}")) {
            answer = answer.substring("\\boxed{".length(), answer.length() - 1).strip();
        }
        if (question.isEmpty() || answer.isEmpty() || answer.length() > MAX_ANSWER_CHARS) {
            return Optional.empty();
        }
        return Optional.of(new String[] {question, answer});
    }

    private static String images(Prompt p) {
        return Prompt.imagePlaceholders(p.images().size());
    }
}
