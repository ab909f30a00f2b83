package io.github.mmupt.answer;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A short visual-question answer normalized the way VQA-style benchmarks compare answers (see
 * {@link AnswerEquivalence#vqa()} for the rules, one by one), with what it may also be read as: a
 * multiple-choice letter, a number, and its leading yes or no.
 *
 * @param raw        the answer, stripped
 * @param normalized the normalized text
 * @param choice     the multiple-choice letter, lower case, or empty
 * @param number     the value when the normalized text is a number (percent divided by 100), or empty
 * @param polarity   "yes" or "no" when the normalized text starts with that word, or empty
 * @param oversized  longer than {@link ParsedAnswer#MAX_STRUCTURED_CHARS}: compared as text without white space
 */
record VqaAnswer(String raw, String normalized, Optional<String> choice, OptionalDouble number,
        Optional<String> polarity, boolean oversized) {

    /** Relative tolerance of ChartQA's relaxed accuracy. */
    static final double RELAXED_TOLERANCE = 0.05;

    /**
     * {@code option B} (any case), {@code (B)} or {@code (b)}, {@code B.}, {@code B)}, {@code B:} (then the end or
     * a space) and a bare capital {@code B}; not a capital followed by a word, which is a sentence ("A cat").
     */
    private static final Pattern CHOICE = Pattern.compile("^(?:(?i:option|choice|answer)\\s*:?\\s*\\(?([A-Ha-h])\\)?"
            + "(?=[.:)\\s]|$)|\\(([A-Ha-h])\\)|([A-H])(?:[.:)](?=\\s|$)|$))");
    private static final Pattern NUMBER = Pattern.compile("-?(?:\\d+(?:\\.\\d*)?|\\.\\d+)( percent)?");
    private static final Pattern THOUSANDS = Pattern.compile("(?<=\\d),(?=\\d{3}(?!\\d))");
    private static final Pattern NOT_DECIMAL_POINT = Pattern.compile("(?<!\\d)\\.|\\.(?!\\d)");
    private static final Pattern PUNCTUATION = Pattern.compile("[;/\\[\\]\"{}()=+\\\\_><@`,?!*#^&$|~:]");
    /** A hyphen, except a minus sign starting a number ({@code -5} stays negative; {@code 3-4}, {@code x-ray} split). */
    private static final Pattern HYPHEN = Pattern.compile("(?<=[\\p{L}\\p{N}])-|-(?!\\d)");
    private static final Map<String, String> NUMBER_WORDS = Map.ofEntries(Map.entry("none", "0"),
            Map.entry("zero", "0"), Map.entry("one", "1"), Map.entry("two", "2"), Map.entry("three", "3"),
            Map.entry("four", "4"), Map.entry("five", "5"), Map.entry("six", "6"), Map.entry("seven", "7"),
            Map.entry("eight", "8"), Map.entry("nine", "9"), Map.entry("ten", "10"));

    static VqaAnswer of(String answer) {
        String raw = answer.strip();
        if (raw.length() > ParsedAnswer.MAX_STRUCTURED_CHARS) {
            return new VqaAnswer(raw, compact(raw), Optional.empty(), OptionalDouble.empty(), Optional.empty(), true);
        }
        Optional<String> choice = Optional.empty();
        Matcher c = CHOICE.matcher(raw);
        if (c.find()) {
            String letter = c.group(1) != null ? c.group(1) : c.group(2) != null ? c.group(2) : c.group(3);
            choice = Optional.of(letter.toLowerCase(Locale.ROOT));
        }
        String text = raw.toLowerCase(Locale.ROOT).replace('\n', ' ').replace('\t', ' ');
        text = text.replace("%", " percent ");
        text = text.replace("'", "").replace("\u2019", "");
        text = THOUSANDS.matcher(text).replaceAll("");
        text = NOT_DECIMAL_POINT.matcher(text).replaceAll(" ");
        text = PUNCTUATION.matcher(text).replaceAll(" ");
        text = HYPHEN.matcher(text).replaceAll(" ");
        StringBuilder out = new StringBuilder();
        for (String word : text.trim().split("\\s+")) {
            if (word.isEmpty() || word.equals("a") || word.equals("an") || word.equals("the")) {
                continue;
            }
            out.append(out.length() == 0 ? "" : " ").append(NUMBER_WORDS.getOrDefault(word, word));
        }
        String normalized = out.toString();
        OptionalDouble number = OptionalDouble.empty();
        Matcher n = NUMBER.matcher(normalized);
        if (n.matches()) {
            double value = Double.parseDouble(n.group(1) == null ? normalized
                    : normalized.substring(0, normalized.length() - n.group(1).length()));
            number = OptionalDouble.of(n.group(1) == null ? value : value / 100);
        }
        String first = normalized.isEmpty() ? "" : normalized.split(" ", 2)[0];
        Optional<String> polarity = first.equals("yes") || first.equals("no") ? Optional.of(first) : Optional.empty();
        return new VqaAnswer(raw, normalized, choice, number, polarity, false);
    }

    /** Whether two answers are the same under {@link AnswerEquivalence#vqa()}. */
    boolean sameAs(VqaAnswer o) {
        if (oversized || o.oversized) {
            return compact(raw).equals(compact(o.raw));
        }
        if (choice.isPresent() || o.choice.isPresent()) {
            String mine = choice.orElse(normalized);
            String theirs = o.choice.orElse(o.normalized);
            return mine.equals(theirs);
        }
        if (number.isPresent() && o.number.isPresent()) {
            double a = number.getAsDouble();
            double b = o.number.getAsDouble();
            // relative to the smaller magnitude: accepted only where ChartQA accepts either one as the gold
            return a == b || Math.abs(a - b) <= RELAXED_TOLERANCE * Math.min(Math.abs(a), Math.abs(b));
        }
        if (isYesNo() && o.polarity.isPresent() || o.isYesNo() && polarity.isPresent()) {
            return polarity.equals(o.polarity);
        }
        return !normalized.isEmpty() && normalized.equals(o.normalized);
    }

    private static String compact(String text) {
        return text.toLowerCase(Locale.ROOT).replaceAll("\\s+", "");
    }

    private boolean isYesNo() {
        return normalized.equals("yes") || normalized.equals("no");
    }

    /** Keys such that two answers sharing one are {@link #sameAs} each other. */
    java.util.List<String> keys() {
        if (oversized) {
            return java.util.List.of("vo:" + normalized);
        }
        if (choice.isPresent()) {
            return java.util.List.of("vc:" + choice.get());
        }
        if (number.isPresent()) {
            return java.util.List.of("vn:" + number.getAsDouble());
        }
        if (normalized.isEmpty() || polarity.isPresent()) {
            // an empty answer matches nothing; "yes, two" joins "yes" only through the pairwise rule
            return isYesNo() ? java.util.List.of("vt:" + normalized) : java.util.List.of();
        }
        return java.util.List.of("vt:" + normalized);
    }
}
