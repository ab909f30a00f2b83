package io.github.mmupt.answer;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the final answer in a model response: the content of the last {@code \boxed{...}} or
 * {@code \fbox{...}}, with brace matching, so nested LaTeX such as {@code \boxed{\frac{1}{2}}} survives.
 *
 * <p>A response with no answer gives {@link Optional#empty()}, never a placeholder string: MM-UPT's
 * extractor returns the string {@code "None"}, which then wins votes and rewards responses that stopped
 * answering (see {@code mmupt-algorithm.md}, pitfall P1). An unbalanced last box (a truncated response)
 * and an empty box are also no answer; an earlier complete box is not used instead, because the response
 * was on its way to a different final answer.
 *
 * <p>Two fallbacks, both off by default because they make it easier to win a vote without committing to
 * an answer: the content of the last {@code <answer>...</answer>} pair, and the text after the last
 * "the answer is" up to the end of its sentence. They are tried in that order, after the boxes.
 *
 * <pre>{@code
 * AnswerExtractor.boxed().extract("so 3 + 2 = \\boxed{5}.")          // Optional[5]
 * AnswerExtractor.boxed().extract("I think it is 5")                   // Optional.empty
 * AnswerExtractor.builder().answerIsPhrase(true).build()
 *     .extract("The answer is 5.")                                     // Optional[5]
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class AnswerExtractor {

    private static final Pattern BOX_COMMAND = Pattern.compile("\\\\(?:boxed|fbox)\\s*\\{");
    private static final String OPEN_TAG = "<answer>";
    private static final String CLOSE_TAG = "</answer>";
    private static final String ANSWER_IS = "the answer is";

    private static final AnswerExtractor BOXED = new AnswerExtractor(false, false);

    private final boolean answerTags;
    private final boolean answerIsPhrase;

    private AnswerExtractor(boolean answerTags, boolean answerIsPhrase) {
        this.answerTags = answerTags;
        this.answerIsPhrase = answerIsPhrase;
    }

    /** {@return the default: boxes only} */
    public static AnswerExtractor boxed() {
        return BOXED;
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return whether {@code <answer>} tags are used when no box is found} */
    public boolean usesAnswerTags() {
        return answerTags;
    }

    /** {@return whether "the answer is X" is used when neither a box nor a tag is found} */
    public boolean usesAnswerIsPhrase() {
        return answerIsPhrase;
    }

    /**
     * Returns the final answer of {@code response}, stripped of surrounding white space, or empty when the
     * response has none.
     *
     * @param response a model response
     * @return its final answer, or empty
     */
    public Optional<String> extract(String response) {
        if (response == null) {
            throw new IllegalArgumentException("response must not be null");
        }
        Optional<String> boxed = lastBox(response);
        if (boxed.isPresent() || hasBox(response)) {
            // A present but broken last box is a deliberate "no answer": do not fall back past it.
            return boxed;
        }
        if (answerTags) {
            Optional<String> tagged = lastAnswerTag(response);
            if (tagged.isPresent()) {
                return tagged;
            }
        }
        if (answerIsPhrase) {
            return afterAnswerIs(response);
        }
        return Optional.empty();
    }

    private static boolean hasBox(String response) {
        return BOX_COMMAND.matcher(response).find();
    }

    /** The content of the last box, or empty when there is none or it is unbalanced or empty. */
    static Optional<String> lastBox(String text) {
        Matcher m = BOX_COMMAND.matcher(text);
        int open = -1;
        while (m.find()) {
            open = m.end() - 1; // index of the '{'
        }
        if (open < 0) {
            return Optional.empty();
        }
        int close = matchingBrace(text, open);
        if (close < 0) {
            return Optional.empty();
        }
        return nonEmpty(text.substring(open + 1, close));
    }

    /**
     * Index of the brace closing the one at {@code open}, or -1. Escaped braces ({@code \{}, {@code \}})
     * are literal set braces and do not count.
     */
    static int matchingBrace(String text, int open) {
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                i++; // skip the escaped character, whatever it is
                continue;
            }
            if (c == '{') {
                depth++;
            } else if (c == '}') {
                depth--;
                if (depth == 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    /**
     * The content of the last {@code <answer>...</answer>} pair (tags in any case), found by scanning back from
     * the last closing tag: linear in the response, where a lazy regular expression was quadratic on responses
     * with many unclosed tags.
     */
    private static Optional<String> lastAnswerTag(String response) {
        int close = lastIndexOfIgnoreCase(response, CLOSE_TAG, response.length());
        while (close >= 0) {
            int previousClose = lastIndexOfIgnoreCase(response, CLOSE_TAG, close - 1);
            int from = previousClose < 0 ? 0 : previousClose + CLOSE_TAG.length();
            int open = indexOfIgnoreCase(response, OPEN_TAG, from, close);
            if (open >= 0) {
                String last = response.substring(open + OPEN_TAG.length(), close);
                Optional<String> inner = lastBox(last);
                return inner.isPresent() ? inner : nonEmpty(last);
            }
            close = previousClose;
        }
        return Optional.empty();
    }

    /** Last start of {@code tag} (ASCII, any case) at or before {@code from}; -1 if none. */
    private static int lastIndexOfIgnoreCase(String text, String tag, int from) {
        char first = tag.charAt(0);
        for (int i = Math.min(from, text.length() - tag.length()); i >= 0; i--) {
            if (Character.toLowerCase(text.charAt(i)) == first && text.regionMatches(true, i, tag, 0, tag.length())) {
                return i;
            }
        }
        return -1;
    }

    /** First start of {@code tag} (any case) in [from, before); -1 if none. */
    private static int indexOfIgnoreCase(String text, String tag, int from, int before) {
        char first = tag.charAt(0);
        for (int i = from; i + tag.length() <= before; i++) {
            if (Character.toLowerCase(text.charAt(i)) == first && text.regionMatches(true, i, tag, 0, tag.length())) {
                return i;
            }
        }
        return -1;
    }

    private static Optional<String> afterAnswerIs(String response) {
        // not toLowerCase: it can change the length ("\u0130" becomes two chars) and so shift every index
        int at = lastIndexOfIgnoreCase(response, ANSWER_IS, response.length());
        if (at < 0) {
            return Optional.empty();
        }
        String rest = response.substring(at + ANSWER_IS.length());
        int end = sentenceEnd(rest);
        String answer = rest.substring(0, end).strip();
        if (answer.startsWith(":")) {
            answer = answer.substring(1).strip();
        }
        answer = stripMathDelimiters(answer);
        return nonEmpty(answer);
    }

    /** End of the first sentence: a newline, or a period followed by white space or the end of text. */
    private static int sentenceEnd(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n') {
                return i;
            }
            if (c == '.' && (i + 1 == s.length() || Character.isWhitespace(s.charAt(i + 1)))) {
                // "3.5" keeps its decimal point; "is 5." ends at the period.
                return i;
            }
        }
        return s.length();
    }

    private static String stripMathDelimiters(String s) {
        String t = s;
        if (t.length() >= 2 && t.startsWith("$") && t.endsWith("$")) {
            t = t.substring(1, t.length() - 1).strip();
        }
        if (t.length() >= 4 && t.startsWith("\\(") && t.endsWith("\\)")) {
            t = t.substring(2, t.length() - 2).strip();
        }
        return t;
    }

    private static Optional<String> nonEmpty(String s) {
        String t = s.strip();
        return t.isEmpty() ? Optional.empty() : Optional.of(t);
    }

    @Override
    public String toString() {
        return "AnswerExtractor[boxes" + (answerTags ? ", <answer> tags" : "")
                + (answerIsPhrase ? ", \"the answer is\"" : "") + "]";
    }

    /** Options of an {@link AnswerExtractor}; both fallbacks start off. */
    public static final class Builder {
        private boolean answerTags;
        private boolean answerIsPhrase;

        private Builder() {
        }

        /**
         * Use the last {@code <answer>...</answer>} when there is no box. Default off.
         *
         * @param on the new value
         * @return this builder
         */
        public Builder answerTags(boolean on) {
            this.answerTags = on;
            return this;
        }

        /**
         * Use the text after the last "the answer is" when there is no box or tag. Default off.
         *
         * @param on the new value
         * @return this builder
         */
        public Builder answerIsPhrase(boolean on) {
            this.answerIsPhrase = on;
            return this;
        }

        /** {@return the settings, checked together} */
        public AnswerExtractor build() {
            if (!answerTags && !answerIsPhrase) {
                return BOXED;
            }
            return new AnswerExtractor(answerTags, answerIsPhrase);
        }
    }
}
