package io.github.mmupt.judge;

import io.github.mmupt.prompt.Prompt;

/**
 * The judging prompt and its scale: how a response is put before the judge, and the range its score must fall
 * in. Placeholders: {@code {images}} (one {@code <image>} per image of the question, space-separated),
 * {@code {question}} (the question without its image placeholders) and {@code {response}} (the response judged).
 * Substitution is one pass, so a response that itself contains {@code {question}} or {@code <image>} cannot
 * change the prompt's structure: image placeholders in a response are written as {@code <image >}.
 *
 * <p>The default ({@link #standard()}) follows the additive 5-point LLM-as-a-judge prompt of Self-Rewarding
 * Language Models (Yuan et al., 2024), shortened for visual questions:
 * <pre>
 * {images}Review the response to the question about the image and score it from 1 to 5: 1 if it is wrong or
 * does not answer, 3 if its reasoning is partly right, 5 if it is correct, complete and checks its answer.
 * Question: {question}
 * Response: {response}
 * Reply with "Score: N" only.
 * </pre>
 * Scores are read by {@link JudgeScores} and normalised to [0, 1] by {@link #normalise}.
 *
 * <pre>{@code
 * JudgePrompt tiny = new JudgePrompt("{images} {question} {response} answer :", 0, 9);
 * }</pre>
 *
 * @param template the prompt; needs {@code {images}}, {@code {question}} and {@code {response}}
 * @param minScore the lowest score
 * @param maxScore the highest score, above {@code minScore}
 */
public record JudgePrompt(String template, double minScore, double maxScore) {

    /** Where the images go. */
    public static final String IMAGES = "{images}";
    /** Where the question goes. */
    public static final String QUESTION = "{question}";
    /** Where the judged response goes. */
    public static final String RESPONSE = "{response}";

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param template the component {@code template}, described with the class
     * @param minScore the component {@code minScore}, described with the class
     * @param maxScore the component {@code maxScore}, described with the class
     */
    public JudgePrompt {
        if (template == null || template.isBlank()) {
            throw new IllegalArgumentException("the judging template must not be blank");
        }
        for (String p : new String[] {IMAGES, QUESTION, RESPONSE}) {
            if (!template.contains(p)) {
                throw new IllegalArgumentException("the judging template needs the placeholder " + p + ": " + template);
            }
        }
        if (template.contains(Prompt.IMAGE_PLACEHOLDER)) {
            throw new IllegalArgumentException("the judging template places images with " + IMAGES + ", not "
                    + Prompt.IMAGE_PLACEHOLDER + ": " + template);
        }
        if (!(Double.isFinite(minScore) && Double.isFinite(maxScore) && minScore < maxScore)) {
            throw new IllegalArgumentException("the judging scale must be finite with minScore < maxScore, got ["
                    + minScore + ", " + maxScore + "]");
        }
    }

    /** {@return the documented default: a 1-5 scale} */
    public static JudgePrompt standard() {
        return new JudgePrompt(IMAGES + "Review the response to the question about the image and score it from 1 to 5: "
                + "1 if it is wrong or does not answer, 3 if its reasoning is partly right, 5 if it is correct, complete "
                + "and checks its answer.\nQuestion: " + QUESTION + "\nResponse: " + RESPONSE
                + "\nReply with \"Score: N\" only.", 1, 5);
    }

    /**
     * The judge's prompt for one response to {@code question}: the question's images, its text and the response.
     *
     * @param question the question answered
     * @param response the response's text (untrusted)
     * @param id the judging prompt's id
     * @return the prompt
     */
    public Prompt render(Prompt question, String response, String id) {
        String text = question.questionText();
        String images = Prompt.imagePlaceholders(question.images().size());
        String safeResponse = Prompt.escapePlaceholders(response);
        StringBuilder out = new StringBuilder(template.length() + text.length() + safeResponse.length());
        for (int at = 0; at < template.length(); ) {
            if (template.startsWith(IMAGES, at)) {
                out.append(images);
                at += IMAGES.length();
            } else if (template.startsWith(QUESTION, at)) {
                out.append(text);
                at += QUESTION.length();
            } else if (template.startsWith(RESPONSE, at)) {
                out.append(safeResponse);
                at += RESPONSE.length();
            } else {
                out.append(template.charAt(at++));
            }
        }
        return new Prompt(id, question.images(), out.toString());
    }

    /**
     * A score on this scale, mapped to [0, 1].
     *
     * @param score a score in [minScore, maxScore]
     * @return {@code (score - minScore) / (maxScore - minScore)}
     */
    public double normalise(double score) {
        return (score - minScore) / (maxScore - minScore);
    }
}
