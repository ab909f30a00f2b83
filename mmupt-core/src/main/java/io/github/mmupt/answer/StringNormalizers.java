package io.github.mmupt.answer;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The two string normalizations that MathRuler's {@code grade_answer} applies before anything else:
 * Hendrycks' MATH normalization and the PRM800K grader's normalization. Two answers whose normalized strings
 * are equal under either are equivalent. They are reimplemented here from their documented behaviour (see
 * {@code mmupt-algorithm.md}, section 2.3), quirks included, so that this library accepts at least every
 * pair MathRuler accepts on these stages; the one part left out is PRM800K's LaTeX-to-text conversion
 * (pylatexenc), whose job {@link MathExpression} does by evaluating the LaTeX instead.
 */
final class StringNormalizers {

    private static final Pattern WHOLE_TEXT = Pattern.compile("^\\\\text\\{(.+?)\\}$", Pattern.DOTALL);
    private static final List<String> PRM_UNITS = List.of(
            "degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week", "month",
            "year", "foot", "feet", "inch", "yard");
    private static final List<Pattern> PRM_UNIT_PATTERNS = PRM_UNITS.stream()
            .map(u -> Pattern.compile(u + "(es)?(s)? *(\\^[0-9]+)?"))
            .toList();
    private static final Pattern PRM_CIRC = Pattern.compile("\\^ *\\\\circ");
    private static final Pattern PRM_THIN_SPACE_COMMA = Pattern.compile(",\\\\! *");
    private static final Pattern PRM_MINUS_SPACE = Pattern.compile("- *");
    private static final Pattern PRM_MIXED_NUMBER = Pattern.compile("([0-9]) +([0-9])");
    private static final Pattern THOUSANDS_COMMA = Pattern.compile("(\\d)(,)(\\d\\d\\d)($|\\D)");
    /** Possessive quantifiers: the plain {@code \\d+\\.?\\d*} backtracked quadratically on long digit runs. */
    private static final Pattern PLAIN_FLOAT =
            Pattern.compile("^\\s*+[+-]?+(?:\\d++(?:\\.\\d*+)?+|\\.\\d++)(?:[eE][+-]?+\\d++)?+\\s*+$");

    private static final BigDecimal SNAP = new BigDecimal("1e-7");

    private StringNormalizers() {
    }

    /** Hendrycks' MATH normalization; on any internal failure it returns the stripped input, as MATH does. */
    static String hendrycksMath(String answer) {
        String s = answer.strip();
        Matcher m = WHOLE_TEXT.matcher(s);
        if (m.find()) {
            s = m.group(1).strip();
        }
        try {
            return stripMath(s);
        } catch (IllegalStateException e) {
            return s;
        }
    }

    private static String stripMath(String input) {
        String s = input.replace("\n", "")
                .replace("\\!", "")
                .replace("\\\\", "\\")
                .replace("tfrac", "frac")
                .replace("dfrac", "frac")
                .replace("\\left", "")
                .replace("\\right", "")
                .replace("^{\\circ}", "")
                .replace("^\\circ", "")
                .replace("\\$", "");
        s = removeRightUnits(s);
        s = s.replace("\\%", "")
                .replace(" .", " 0.")
                .replace("{.", "{0.");
        if (s.isEmpty()) {
            return s;
        }
        if (s.charAt(0) == '.') {
            s = "0" + s;
        }
        String[] sides = s.split("=", -1);
        if (sides.length == 2 && sides[0].length() <= 2) {
            s = sides[1];
        }
        s = fixSqrt(s);
        s = s.replace(" ", "");
        s = fixFracs(s);
        if (s.equals("0.5")) {
            s = "\\frac{1}{2}";
        }
        return fixSlash(s);
    }

    /** "5\text{ cm}" to "5"; more than one such unit is an error in MATH, which then gives up. */
    private static String removeRightUnits(String s) {
        if (!s.contains("\\text{ ")) {
            return s;
        }
        String[] parts = s.split(Pattern.quote("\\text{ "), -1);
        if (parts.length != 2) {
            throw new IllegalStateException("more than one unit");
        }
        return parts[0];
    }

    /** "\sqrt3" to "\sqrt{3}". */
    private static String fixSqrt(String s) {
        String[] parts = s.split(Pattern.quote("\\sqrt"), -1);
        StringBuilder out = new StringBuilder(parts[0]);
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) {
                throw new IllegalStateException("\\sqrt without argument");
            }
            if (p.charAt(0) != '{') {
                out.append("\\sqrt{").append(p.charAt(0)).append('}').append(p, 1, p.length());
            } else {
                out.append("\\sqrt").append(p);
            }
        }
        return out.toString();
    }

    /** "\frac12" to "\frac{1}{2}", "\frac1b" to "\frac{1}{b}", "\frac{1}2" kept as MATH keeps it. */
    static String fixFracs(String s) {
        String[] parts = s.split(Pattern.quote("\\frac"), -1);
        StringBuilder out = new StringBuilder(parts[0]);
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            out.append("\\frac");
            if (p.isEmpty()) {
                throw new IllegalStateException("\\frac without argument");
            }
            if (p.charAt(0) == '{') {
                out.append(p);
                continue;
            }
            if (p.length() < 2) {
                return s;
            }
            char a = p.charAt(0);
            char b = p.charAt(1);
            if (b != '{') {
                out.append('{').append(a).append("}{").append(b).append('}').append(p, 2, p.length());
            } else {
                out.append('{').append(a).append('}').append(b).append(p, 2, p.length());
            }
        }
        return out.toString();
    }

    /** "3/4" to "\frac{3}{4}" when both sides are plain integers written canonically. */
    private static String fixSlash(String s) {
        String[] parts = s.split("/", -1);
        if (parts.length != 2) {
            return s;
        }
        try {
            long a = Long.parseLong(parts[0]);
            long b = Long.parseLong(parts[1]);
            if (!s.equals(a + "/" + b)) {
                return s;
            }
            return "\\frac{" + a + "}{" + b + "}";
        } catch (NumberFormatException e) {
            return s;
        }
    }

    /**
     * The PRM800K grader's normalization, without its LaTeX-to-text step. With {@code snapToInteger}, a float
     * within 1e-7 of an integer becomes that integer, as MathRuler does ({@code 3e-8} and {@code 1e-8} both become
     * {@code 0}); without it only floats that are exactly integers do ({@code 5.0}).
     */
    static String prm800k(String answer, boolean snapToInteger) {
        String s = answer;
        Matcher m = WHOLE_TEXT.matcher(s);
        if (m.find()) {
            s = m.group(1);
        }
        s = s.replace("\\%", "%")
                .replace("\\$", "$")
                .replace("$", "")
                .replace("%", "")
                .replace(" or ", " , ")
                .replace(" and ", " , ")
                .replace("million", "*10^6")
                .replace("billion", "*10^9")
                .replace("trillion", "*10^12");
        for (Pattern unit : PRM_UNIT_PATTERNS) {
            s = unit.matcher(s).replaceAll("");
        }
        s = PRM_CIRC.matcher(s).replaceAll("");
        if (!s.isEmpty() && s.charAt(0) == '{' && s.charAt(s.length() - 1) == '}') {
            s = s.substring(1, s.length() - 1);
        }
        s = PRM_THIN_SPACE_COMMA.matcher(s).replaceAll("");
        if (PLAIN_FLOAT.matcher(s).matches()) {
            String asInt = integerString(s.strip(), snapToInteger);
            if (asInt != null) {
                s = asInt;
            }
        }
        s = PRM_MINUS_SPACE.matcher(s).replaceAll("-");
        s = PRM_MIXED_NUMBER.matcher(s).replaceAll("$1+$2");
        s = s.replace(" ", "").replace("{", "").replace("}", "").toLowerCase(Locale.ROOT);
        String withoutCommas = stripThousandsCommas(s);
        if (PLAIN_FLOAT.matcher(withoutCommas).matches()) {
            String asInt = integerString(withoutCommas.replace(",", ""), snapToInteger);
            if (asInt != null) {
                s = asInt;
            }
        }
        return s;
    }

    /** "1,234,567" to "1234567"; commas that are not thousands separators stay. */
    static String stripThousandsCommas(String s) {
        String current = s;
        while (true) {
            String next = THOUSANDS_COMMA.matcher(current).replaceAll("$1$3$4");
            if (next.equals(current)) {
                return next;
            }
            current = next;
        }
    }

    /** The integer a float literal equals (or, snapping, is within 1e-7 of), as a string; null when none. */
    private static String integerString(String literal, boolean snap) {
        try {
            BigDecimal d = new BigDecimal(literal.strip().replaceFirst("^\\+", ""));
            if (Math.abs((long) d.scale()) > 1000 || d.precision() - d.scale() > 1000) {
                return null;
            }
            BigDecimal rounded = d.setScale(0, RoundingMode.HALF_EVEN);
            if (d.subtract(rounded).abs().compareTo(snap ? SNAP : BigDecimal.ZERO) <= 0) {
                return rounded.toBigInteger().toString();
            }
            return null;
        } catch (NumberFormatException | ArithmeticException e) {
            return null;
        }
    }
}
