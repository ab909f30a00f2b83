package io.github.mmupt.answer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An answer prepared once for many comparisons: its two MathRuler string normalizations and its structure
 * (one value, an ordered tuple or interval with its brackets, or an unordered set or list), each element
 * cleaned of presentation (delimiters, {@code \text}, units, degrees, percent and currency signs, thousands
 * separators, a leading "x =") and parsed as a {@link MathExpression} where possible.
 */
final class ParsedAnswer {

    /** How the elements of an answer are arranged. */
    enum Shape {
        /** One value. */
        SINGLE,
        /** A bracketed tuple or interval: order and brackets matter. */
        ORDERED,
        /** {@code \{a, b\}}: a set, order does not matter. */
        SET,
        /** {@code a, b} without brackets: a list of solutions, order does not matter. */
        LIST
    }

    /** One cleaned element and its parse. */
    record Element(String text, Optional<MathExpression> expression, Optional<Character> choice,
            Optional<Character> leadingChoice) {
    }

    private static final Pattern TEXT_COMMAND = Pattern.compile(
            "\\\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|operatorname|boxed|fbox)\\s*\\{");
    private static final Pattern WHOLE_THOUSANDS = Pattern.compile("^-?\\d{1,3}(,\\d{3})+(\\.\\d+)?$");
    private static final Pattern BARE_CHOICE = Pattern.compile("^\\(?\\s*([A-Za-z])\\s*[).:]?$");
    private static final Pattern LEADING_CHOICE = Pattern.compile("^\\(([A-Z])\\)\\s*\\S.*$", Pattern.DOTALL);
    private static final Pattern SCALE_WORD =
            Pattern.compile("(\\d)\\s*(thousand|million|billion|trillion)\\b", Pattern.CASE_INSENSITIVE);
    /** Common unit abbreviations written against the number: "5cm", "2.5kg", "9cm^2". */
    private static final Pattern ATTACHED_UNIT = Pattern.compile(
            "^(.*?[0-9])(?:cm|mm|km|kg|mg|ml|min|ft|yd|mi|lb|lbs|oz)(?:\\s*\\^\\s*\\{?[23]\\}?)?$");
    /** Words that are mathematics, not units. */
    private static final Pattern MATH_WORD = Pattern.compile(
            "\\b(?:pi|inf|infty|infinity|sqrt|sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|ln|log|exp)\\b",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern MIXED_LATEX = Pattern.compile("^(-?)(\\d+)\\s*\\\\frac\\{(\\d+)\\}\\{(\\d+)\\}$");
    private static final Pattern MIXED_PLAIN = Pattern.compile("^(-?)(\\d+)\\s+(\\d+)\\s*/\\s*(\\d+)$");

    /**
     * Longest answer that gets the full treatment (normalizations, structure, parsing). Longer ones, which no
     * real final answer is, are compared as their text without white space, so no input can make a comparison
     * slow: see {@link AnswerEquivalence}.
     */
    static final int MAX_STRUCTURED_CHARS = 1000;

    private final String raw;
    private final boolean oversized;
    private final String unit;
    private final String mathNormalized;
    private final String prmNormalized;
    private final String prmNormalizedSnapped;
    private final Shape shape;
    private final char open;
    private final char close;
    private final List<Element> elements;

    private ParsedAnswer(String raw, boolean oversized, String unit, String mathNormalized, String prmNormalized,
            String prmNormalizedSnapped, Shape shape, char open, char close, List<Element> elements) {
        this.raw = raw;
        this.oversized = oversized;
        this.unit = unit;
        this.mathNormalized = mathNormalized;
        this.prmNormalized = prmNormalized;
        this.prmNormalizedSnapped = prmNormalizedSnapped;
        this.shape = shape;
        this.open = open;
        this.close = close;
        this.elements = List.copyOf(elements);
    }

    static ParsedAnswer of(String answer) {
        String raw = answer.strip();
        if (raw.length() > MAX_STRUCTURED_CHARS) {
            String compact = withoutWhiteSpace(raw);
            return new ParsedAnswer(raw, true, "", compact, compact, compact, Shape.SINGLE, (char) 0, (char) 0,
                    List.of(new Element(compact, Optional.empty(), Optional.empty(), Optional.empty())));
        }
        String[] unitOut = new String[1];
        String cleaned = clean(raw, unitOut);
        if (WHOLE_THOUSANDS.matcher(cleaned).matches()) {
            cleaned = cleaned.replace(",", "");
        }
        Shape shape = Shape.SINGLE;
        char open = 0;
        char close = 0;
        List<String> parts;
        if (cleaned.startsWith("\\{") && cleaned.endsWith("\\}") && cleaned.length() >= 4) {
            shape = Shape.SET;
            parts = splitTopLevel(cleaned.substring(2, cleaned.length() - 2));
        } else if (isBracketed(cleaned) && splitTopLevel(inner(cleaned)).size() > 1) {
            shape = Shape.ORDERED;
            open = cleaned.charAt(0);
            close = cleaned.charAt(cleaned.length() - 1);
            parts = splitTopLevel(inner(cleaned));
        } else {
            parts = splitTopLevel(cleaned);
            if (parts.size() > 1) {
                shape = Shape.LIST;
            }
        }
        if (parts.isEmpty()) {
            parts = List.of(cleaned); // an empty element ("1,,2"): compared as text only
        }
        List<Element> elements = new ArrayList<>(parts.size());
        for (String p : parts) {
            elements.add(element(p));
        }
        return new ParsedAnswer(raw, false, unitOut[0] == null ? "" : unitOut[0], StringNormalizers.hendrycksMath(raw),
                StringNormalizers.prm800k(raw, false), StringNormalizers.prm800k(raw, true), shape, open, close, elements);
    }

    private static String withoutWhiteSpace(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!Character.isWhitespace(c)) {
                b.append(c);
            }
        }
        return b.toString();
    }

    String raw() {
        return raw;
    }

    /** The answer without white space: what an oversized answer is compared by. */
    String compactText() {
        return oversized ? mathNormalized : withoutWhiteSpace(raw);
    }

    /** Longer than {@link #MAX_STRUCTURED_CHARS}: compared as text only. */
    boolean oversized() {
        return oversized;
    }

    /** The unit word stripped after the value ({@code cm}, {@code day} for "12 days"), singular, lower case; "" if none. */
    String unit() {
        return unit;
    }

    /** The PRM800K normalization with MathRuler's 1e-7 integer snap ({@code 3e-8} becomes {@code 0}). */
    String prmNormalizedSnapped() {
        return prmNormalizedSnapped;
    }

    String mathNormalized() {
        return mathNormalized;
    }

    String prmNormalized() {
        return prmNormalized;
    }

    Shape shape() {
        return shape;
    }

    char open() {
        return open;
    }

    char close() {
        return close;
    }

    List<Element> elements() {
        return elements;
    }

    private static Element element(String text) {
        String t = dropShortLeftHandSide(text.strip());
        t = mixedNumber(t);
        String compact = t.replace(" ", "").toLowerCase(Locale.ROOT);
        Optional<Character> choice = Optional.empty();
        Matcher bare = BARE_CHOICE.matcher(t);
        if (bare.matches()) {
            choice = Optional.of(Character.toUpperCase(bare.group(1).charAt(0)));
        }
        Optional<Character> leading = Optional.empty();
        Matcher lead = LEADING_CHOICE.matcher(t);
        if (lead.matches()) {
            leading = Optional.of(lead.group(1).charAt(0));
        }
        return new Element(compact, MathExpression.parse(t), choice, leading);
    }

    /** "x = 5" to "5" when the left side is at most two characters, as MATH does. */
    private static String dropShortLeftHandSide(String s) {
        String[] sides = s.split("=", -1);
        if (sides.length == 2 && sides[0].strip().replace(" ", "").length() <= 2
                && !sides[0].isBlank() && !sides[1].isBlank()) {
            return sides[1].strip();
        }
        return s;
    }

    /** "7 3/4" and "7\frac{3}{4}" are mixed numbers: 7 + 3/4. */
    private static String mixedNumber(String s) {
        Matcher m = MIXED_LATEX.matcher(s);
        if (!m.matches()) {
            m = MIXED_PLAIN.matcher(s);
            if (!m.matches()) {
                return s;
            }
        }
        return m.group(1) + "(" + m.group(2) + "+" + m.group(3) + "/" + m.group(4) + ")";
    }

    /** Removes presentation that does not change the value; a unit word removed is put in {@code unitOut[0]}. */
    static String clean(String answer, String[] unitOut) {
        String s = answer.strip();
        s = unwrapDelimiters(s);
        s = unwrapTextCommands(s);
        s = s.replace('\u2212', '-')
                .replace("\u00d7", "\\times ")
                .replace("\u00b7", "\\cdot ")
                .replace("\u00f7", "\\div ")
                .replace("\u03c0", "\\pi ")
                .replace("\u221e", "\\infty ")
                .replace("\u221a", "\\sqrt")
                .replace("\\dfrac", "\\frac")
                .replace("\\tfrac", "\\frac")
                .replace("\\cfrac", "\\frac")
                .replace("\\displaystyle", "")
                .replace("\\!", "")
                .replace("{,}", "")
                .replace("^{\\circ}", "")
                .replace("^\\circ", "")
                .replace("\\circ", "")
                .replace("\\degree", "")
                .replace("\u00b0", "")
                .replace("\\%", "")
                .replace("%", "")
                .replace("\\$", "")
                .replace("$", "")
                .replace("\n", " ")
                .strip();
        s = SCALE_WORD.matcher(s).replaceAll(mr -> mr.group(1) + "\\\\times 10^{"
                + scaleExponent(mr.group(2)) + "}");
        s = stripTrailingUnits(s, unitOut);
        try {
            s = StringNormalizers.fixFracs(s);
        } catch (IllegalStateException e) {
            // leave it: the expression parser will reject the malformed \frac
        }
        return fixSqrtArgument(s).strip();
    }

    private static String scaleExponent(String word) {
        return switch (word.toLowerCase(Locale.ROOT)) {
            case "thousand" -> "3";
            case "million" -> "6";
            case "billion" -> "9";
            default -> "12";
        };
    }

    /**
     * "5 cm" to "5" and "12 square units" to "12", recording the unit. Scanned by hand from the end rather than
     * by a regular expression, whose backtracking was quadratic on long runs of letters.
     */
    private static String stripTrailingUnits(String s, String[] unitOut) {
        int end = s.length();
        int i = end;
        int words = 0;
        // trailing words of two or more letters, each optionally with a '.' and a ^2 or ^3
        while (true) {
            int j = i;
            while (j > 0 && Character.isWhitespace(s.charAt(j - 1))) {
                j--;
            }
            int wordEnd = skipPowerSuffix(s, j);
            if (wordEnd > 0 && s.charAt(wordEnd - 1) == '.') {
                wordEnd--;
            }
            int k = wordEnd;
            while (k > 0 && isAsciiLetter(s.charAt(k - 1))) {
                k--;
            }
            if (wordEnd - k < 2) {
                break;
            }
            i = k;
            words++;
        }
        if (words > 0 && i > 0 && Character.isWhitespace(s.charAt(i - 1))) {
            String value = s.substring(0, i).strip();
            String unitText = s.substring(i);
            char last = value.isEmpty() ? ' ' : value.charAt(value.length() - 1);
            if ((Character.isDigit(last) || last == '}' || last == '.' || last == ')') && !MATH_WORD.matcher(unitText).find()
                    && MathExpression.parse(value).isPresent()) {
                unitOut[0] = unitKey(unitText);
                return value;
            }
        }
        Matcher attached = ATTACHED_UNIT.matcher(s);
        if (attached.matches() && MathExpression.parse(attached.group(1)).isPresent()) {
            unitOut[0] = unitKey(s.substring(attached.end(1)));
            return attached.group(1).strip();
        }
        return s;
    }

    /** The index before a trailing {@code ^2}, {@code ^{3}} (with optional spaces), or {@code end} when there is none. */
    private static int skipPowerSuffix(String s, int end) {
        int k = end;
        if (k > 0 && s.charAt(k - 1) == '}') {
            k--;
        }
        if (k > 0 && (s.charAt(k - 1) == '2' || s.charAt(k - 1) == '3')) {
            int d = k - 1;
            if (d > 0 && s.charAt(d - 1) == '{') {
                d--;
            }
            while (d > 0 && Character.isWhitespace(s.charAt(d - 1))) {
                d--;
            }
            if (d > 0 && s.charAt(d - 1) == '^' && (k == end || s.charAt(end - 1) == '}') ) {
                d--;
                while (d > 0 && Character.isWhitespace(s.charAt(d - 1))) {
                    d--;
                }
                return d;
            }
        }
        return end;
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** A unit's name for comparison: lower case, no spaces or dots, singular ("days" and "day" agree). */
    static String unitKey(String unitText) {
        String u = unitText.toLowerCase(Locale.ROOT).replace(" ", "").replace(".", "").replace("{", "").replace("}", "");
        StringBuilder words = new StringBuilder();
        for (String w : u.split("(?<=[a-z])(?=[\\^{}0-9])|(?<=[\\^{}0-9])(?=[a-z])")) {
            words.append(singular(w));
        }
        return words.toString();
    }

    private static String singular(String w) {
        if (w.equals("feet")) {
            return "foot";
        }
        if (w.length() > 4 && (w.endsWith("ches") || w.endsWith("shes") || w.endsWith("xes"))) {
            return w.substring(0, w.length() - 2);
        }
        if (w.length() > 2 && w.endsWith("s") && !w.endsWith("ss")) {
            return w.substring(0, w.length() - 1);
        }
        return w;
    }

    /** "\sqrt3" to "\sqrt{3}"; the MATH normalization does the same on its own copy. */
    private static String fixSqrtArgument(String s) {
        return s.replaceAll("\\\\sqrt\\s*([0-9a-zA-Z])", "\\\\sqrt{$1}");
    }

    private static String unwrapDelimiters(String s) {
        String t = s;
        boolean changed = true;
        while (changed) {
            changed = false;
            for (String[] pair : new String[][] {{"$$", "$$"}, {"$", "$"}, {"\\(", "\\)"}, {"\\[", "\\]"}}) {
                if (t.length() >= pair[0].length() + pair[1].length() && t.startsWith(pair[0])
                        && t.endsWith(pair[1])) {
                    t = t.substring(pair[0].length(), t.length() - pair[1].length()).strip();
                    changed = true;
                }
            }
        }
        return t;
    }

    /** Replaces {@code \text{X}} and its relatives with X, wherever they stand. */
    private static String unwrapTextCommands(String s) {
        String t = s;
        for (int guard = 0; guard < 50; guard++) {
            Matcher m = TEXT_COMMAND.matcher(t);
            if (!m.find()) {
                return t;
            }
            int openBrace = m.end() - 1;
            int closeBrace = AnswerExtractor.matchingBrace(t, openBrace);
            if (closeBrace < 0) {
                return t;
            }
            t = t.substring(0, m.start()) + t.substring(openBrace + 1, closeBrace) + t.substring(closeBrace + 1);
        }
        return t;
    }

    private static boolean isBracketed(String s) {
        if (s.length() < 2) {
            return false;
        }
        char first = s.charAt(0);
        char last = s.charAt(s.length() - 1);
        if ((first != '(' && first != '[') || (last != ')' && last != ']')) {
            return false;
        }
        // The opening bracket must close only at the very end: "(1)(2)" is not a tuple.
        int depth = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                depth--;
                if (depth == 0 && i != s.length() - 1) {
                    return false;
                }
            }
        }
        return depth == 0;
    }

    private static String inner(String s) {
        return s.substring(1, s.length() - 1);
    }

    /** Splits at commas outside any bracket or brace; an empty part makes the whole split fail (empty list). */
    static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == '{' || s.charAt(i + 1) == '}')) {
                depth += s.charAt(i + 1) == '{' ? 1 : -1;
                i++;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        for (String p : parts) {
            if (p.isBlank()) {
                return List.of();
            }
        }
        return parts;
    }

    @Override
    public String toString() {
        return raw;
    }
}
