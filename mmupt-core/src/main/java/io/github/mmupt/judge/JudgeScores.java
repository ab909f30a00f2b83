package io.github.mmupt.judge;

import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the score out of a judge's reply, robustly: a reply it cannot read unambiguously has no score (it never
 * guesses), and a score is only ever a number inside the judging scale.
 *
 * <p>The rules, in order:
 * <ol>
 *   <li>only the first {@value #MAX_CHARS} characters are read (a runaway judgment costs bounded time);</li>
 *   <li>every "score" (any case) followed, after optional separators ({@code :}, {@code =}, {@code is},
 *       {@code of}, spaces, {@code *} as in Markdown bold), by a plain decimal number (optionally over the scale's
 *       maximum: {@code 4/5}, {@code 4 out of 5}) is a mention; all mentions must agree, else no score;</li>
 *   <li>without any mention, a reply that starts with such a number (the judge answered with the number alone)
 *       gives that number;</li>
 *   <li>the number must lie in [min, max] of the scale, and a stated denominator must equal max; otherwise no
 *       score. Exponents, signs, hex, fractions other than over max, and non-ASCII digits are not numbers here.</li>
 * </ol>
 *
 * <pre>{@code
 * JudgeScores.parse("The reasoning holds. Score: 4", 1, 5);   // OptionalDouble[4.0]
 * JudgeScores.parse("Score: 4 ... Score: 2", 1, 5);           // empty (the mentions disagree)
 * JudgeScores.parse("I would say 11", 1, 5);                  // empty
 * }</pre>
 */
public final class JudgeScores {

    /** Characters of a reply that are read. */
    public static final int MAX_CHARS = 4096;

    // a number ends where no digit, decimal part, exponent or letter continues it ("4." ending a sentence is 4)
    private static final String NUMBER = "(\\d{1,6}(?:\\.\\d{1,6})?)(?!\\d|[.,]\\d|\\p{L}|_)";
    private static final String OVER = "(?:\\s*(?:/|out\\s+of)\\s*(\\d{1,6}(?:\\.\\d{1,6})?))?";
    private static final Pattern MENTION = Pattern.compile(
            "score(?![a-z])[\\s*:=]*(?:(?:is|of)(?![a-z])[\\s*:=]*)?" + NUMBER + OVER, Pattern.CASE_INSENSITIVE);
    private static final Pattern WORD_SCORE = Pattern.compile("score(?![a-z])", Pattern.CASE_INSENSITIVE);
    private static final Pattern LEADING = Pattern.compile("^[\\s*]*" + NUMBER + OVER, Pattern.CASE_INSENSITIVE);

    private JudgeScores() {
    }

    /**
     * The score in a reply, on the scale [min, max].
     *
     * @param reply the judge's text (untrusted)
     * @param min the lowest score of the scale
     * @param max the highest score of the scale, above {@code min}
     * @return the score, or empty when the reply does not state exactly one in range
     */
    public static OptionalDouble parse(String reply, double min, double max) {
        if (!(Double.isFinite(min) && Double.isFinite(max) && min < max)) {
            throw new IllegalArgumentException("the scale must be finite with min < max, got [" + min + ", " + max + "]");
        }
        if (reply == null || reply.isEmpty()) {
            return OptionalDouble.empty();
        }
        String text = reply.length() > MAX_CHARS ? reply.substring(0, MAX_CHARS) : reply;
        Matcher m = MENTION.matcher(text);
        Double found = null;
        while (m.find()) {
            OptionalDouble v = value(m, max);
            if (v.isEmpty() || (found != null && found != v.getAsDouble())) {
                return OptionalDouble.empty();
            }
            found = v.getAsDouble();
        }
        if (found == null) {
            // "score" with no readable number after it is a judgment we cannot read, not a bare number reply
            if (WORD_SCORE.matcher(text).find()) {
                return OptionalDouble.empty();
            }
            Matcher lead = LEADING.matcher(text);
            if (!lead.find()) {
                return OptionalDouble.empty();
            }
            OptionalDouble v = value(lead, max);
            if (v.isEmpty()) {
                return v;
            }
            found = v.getAsDouble();
        }
        return found >= min && found <= max ? OptionalDouble.of(found) : OptionalDouble.empty();
    }

    private static OptionalDouble value(Matcher m, double max) {
        double v = Double.parseDouble(m.group(1));
        if (m.group(2) != null && Double.parseDouble(m.group(2)) != max) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(v);
    }
}
