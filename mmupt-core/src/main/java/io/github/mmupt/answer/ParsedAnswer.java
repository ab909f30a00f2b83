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
    /** Trailing unit words after a value, set off by white space: "5 cm", "12 square units", "3 apples". */
    private static final Pattern SPACED_UNITS = Pattern.compile(
            "^(.*?[0-9}.)])\\s+((?:[A-Za-z]{2,}\\.?(?:\\s*\\^\\s*\\{?[23]\\}?)?\\s*)+)$", Pattern.DOTALL);
    /** Common unit abbreviations written against the number: "5cm", "2.5kg", "9cm^2". */
    private static final Pattern ATTACHED_UNIT = Pattern.compile(
            "^(.*?[0-9])(?:cm|mm|km|kg|mg|ml|min|ft|yd|mi|lb|lbs|oz)(?:\\s*\\^\\s*\\{?[23]\\}?)?$");
    /** Words that are mathematics, not units. */
    private static final Pattern MATH_WORD = Pattern.compile(
            "\\b(?:pi|inf|infty|infinity|sqrt|sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|ln|log|exp)\\b",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern MIXED_LATEX = Pattern.compile("^(-?)(\\d+)\\s*\\\\frac\\{(\\d+)\\}\\{(\\d+)\\}$");
    private static final Pattern MIXED_PLAIN = Pattern.compile("^(-?)(\\d+)\\s+(\\d+)\\s*/\\s*(\\d+)$");

    private final String raw;
    private final String mathNormalized;
    private final String prmNormalized;
    private final Shape shape;
    private final char open;
    private final char close;
    private final List<Element> elements;

    private ParsedAnswer(String raw, String mathNormalized, String prmNormalized, Shape shape, char open,
            char close, List<Element> elements) {
        this.raw = raw;
        this.mathNormalized = mathNormalized;
        this.prmNormalized = prmNormalized;
        this.shape = shape;
        this.open = open;
        this.close = close;
        this.elements = List.copyOf(elements);
    }

    static ParsedAnswer of(String answer) {
        String raw = answer.strip();
        String cleaned = clean(raw);
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
        return new ParsedAnswer(raw, StringNormalizers.hendrycksMath(raw), StringNormalizers.prm800k(raw), shape,
                open, close, elements);
    }

    String raw() {
        return raw;
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

    /** Removes presentation that does not change the value. */
    static String clean(String answer) {
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
        s = stripTrailingUnits(s);
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

    private static String stripTrailingUnits(String s) {
        Matcher spaced = SPACED_UNITS.matcher(s);
        if (spaced.matches() && !MATH_WORD.matcher(spaced.group(2)).find()
                && MathExpression.parse(spaced.group(1)).isPresent()) {
            return spaced.group(1).strip();
        }
        Matcher attached = ATTACHED_UNIT.matcher(s);
        if (attached.matches() && MathExpression.parse(attached.group(1)).isPresent()) {
            return attached.group(1).strip();
        }
        return s;
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
