package io.github.mmupt.answer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides whether two final answers mean the same thing, in pure Java and without a computer-algebra system.
 *
 * <p>Two answers are equivalent when the first of these succeeds:
 * <ol>
 *   <li>their Hendrycks-MATH normalized strings are equal (MathRuler's first stage);</li>
 *   <li>their PRM800K normalized strings are equal (MathRuler's second stage: lower case, unit words
 *       removed, {@code or}/{@code and} as commas, {@code million} as {@code *10^6}, ...);</li>
 *   <li>they have the same shape and their elements are equivalent: one value each; or tuples and intervals
 *       with the same brackets, element by element in order; or sets {@code \{..\}} and bare comma lists,
 *       element by element in any order. Two elements are equivalent when their cleaned text is equal, when
 *       both are the same multiple-choice letter ({@code A}, {@code (A)}, {@code A.}, and {@code (A) 12}
 *       against a bare letter), or when both parse as arithmetic and have the same value: exactly, with
 *       rational arithmetic, when both are rational ({@code 0.5 = 1/2 = 2/4 = 50/100}, {@code 1,000 = 1000},
 *       {@code 7 3/4 = 31/4}, {@code 1.5e3 = 1500}); within a relative 1e-9 otherwise
 *       ({@code \sqrt{8} = 2\sqrt{2}}, {@code \frac{\pi}{2} = \pi/2}); and for expressions in at most two
 *       variables, at every one of several sample points ({@code (x+1)^2 = x^2+2x+1}).</li>
 * </ol>
 *
 * <p>Cleaning before parsing drops {@code $}, {@code \(..\)}, {@code \text{}} and its relatives, degree marks
 * ({@code 60^\circ = 60}), percent signs ({@code 50\% = 50}, which is not {@code 0.5}), currency signs,
 * trailing unit words ({@code 5 cm = 5}, {@code 3 apples = 3}) and a short left-hand side ({@code x = 5 = 5}).
 * A unit word is dropped only when the other side carries the same unit (singular and plural agree) or none:
 * {@code 12 days} is not {@code 12 weeks} and {@code 5 cm} is not {@code 5 km}; units are never converted.
 * In the PRM800K stage a float is an integer only when it equals one exactly ({@code 5.0 = 5}, but
 * {@code 2.0000001 != 2} and {@code 3e-8 != 1e-8}).
 *
 * <p>Not equivalent, by design: approximations of irrational values, however many digits
 * ({@code 3.14} vs {@code \pi}, {@code 6.283185307} vs {@code 2\pi}: a decimal literal never equals an
 * irrational constant expression, as sympy's exact check in MathRuler agrees); answers
 * that need algebra beyond evaluation (equations with a long left side, expressions in three or more
 * variables, inequalities, {@code \pm}); and words compared to anything but the same word. The relation is
 * symmetric; because of the tolerance it need not be transitive, which is why voting clusters answers in
 * sampling order (see {@code MajorityVoteLabeler}).
 *
 * <p>{@link #mathRulerCompatible()} reproduces MathRuler's {@code grade_answer} where it differs from
 * {@link #standard()}: stricter, unreduced fractions differ from reduced ones ({@code 2/4 != 1/2}), an integer
 * never equals a non-integer literal ({@code 3 != 6/2}), comma lists and sets keep their order, and
 * {@code (A) 12} is not the letter {@code A}; more lenient, its PRM800K stage snaps a float within 1e-7 to an
 * integer ({@code 3e-8 = 1e-8 = 0}) and drops its unit words whatever they are ({@code 12 days = 12 weeks}).
 *
 * <p>Time is bounded whatever the input: an answer longer than {@value ParsedAnswer#MAX_STRUCTURED_CHARS}
 * characters (no real final answer is) is compared only as its text without white space; shorter ones go
 * through linear scans; unordered sets match elements through canonical keys and compare at most
 * {@value #MAX_PAIRWISE_ELEMENTS} left-over elements pairwise. {@code AnswerBenchmark} in mmupt-examples
 * measures the bound (under 50 ms for any pair up to 1 MB).
 *
 * <pre>{@code
 * AnswerEquivalence eq = AnswerEquivalence.standard();
 * eq.equivalent("\\frac{1}{2}", "0.5");    // true
 * eq.equivalent("(1, 2]", "(1,2)");        // false: the brackets differ
 * }</pre>
 *
 * <p>{@link #vqa()} is the third variant, for visual-question answers that are not math (yes/no, multiple
 * choice, short text, chart values): see its rules there.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class AnswerEquivalence {

    /** Relative tolerance for values that are not exactly rational. */
    static final double RELATIVE_TOLERANCE = 1e-9;
    /** Absolute floor, for irrational expressions that cancel to zero ({@code \sin\pi}). */
    static final double ABSOLUTE_TOLERANCE = 1e-12;
    private static final int MAX_VARIABLES = 2;
    private static final double[] SAMPLES = {0.5377, 1.8339, 2.2588, 0.8622, 0.3188, 1.3077, -0.4336, -1.7384};
    private static final int MIN_VALID_SAMPLES = 3;
    /** Elements of two sets left after matching by key that are still compared pairwise; beyond it, unequal. */
    static final int MAX_PAIRWISE_ELEMENTS = 64;
    /** A finite decimal literal: {@code 6.283}, {@code .5}, {@code 1.5e3} (compact, lower case). */
    private static final java.util.regex.Pattern DECIMAL_LITERAL =
            java.util.regex.Pattern.compile("[+-]?+(?:\\d++\\.\\d*+|\\.\\d++|\\d++(?=e))(?:e[+-]?+\\d++)?+");

    private static final AnswerEquivalence STANDARD = new AnswerEquivalence(false, false);
    private static final AnswerEquivalence MATH_RULER = new AnswerEquivalence(true, false);
    private static final AnswerEquivalence VQA = new AnswerEquivalence(false, true);

    private final boolean mathRulerRules;
    private final boolean vqaRules;

    private AnswerEquivalence(boolean mathRulerRules, boolean vqaRules) {
        this.mathRulerRules = mathRulerRules;
        this.vqaRules = vqaRules;
    }

    /** {@return the library's rules: everything MathRuler accepts on its string and numeric stages, and more} */
    public static AnswerEquivalence standard() {
        return STANDARD;
    }

    /**
     * MathRuler's stricter rules, for reproducing MM-UPT exactly.
     *
     * @return the MathRuler-compatible rules
     */
    public static AnswerEquivalence mathRulerCompatible() {
        return MATH_RULER;
    }

    /**
     * Visual-question answers as VQA-style benchmarks compare them (VQA v2's normalization, ChartQA's relaxed
     * accuracy), for the labeler and the evaluator on data that is not math. The rules, in order:
     * <ol>
     *   <li><b>Normalization</b> (VQA v2's answer processing): lower case; {@code %} read as the word
     *       {@code percent}; apostrophes dropped ({@code don't = dont}); thousands separators dropped
     *       ({@code 1,000 = 1000}); periods dropped except decimal points; other punctuation and hyphens (not a
     *       leading minus) become spaces; the articles {@code a}, {@code an}, {@code the} dropped; the number words
     *       {@code none}, {@code zero} .. {@code ten} written as digits; white space collapsed.</li>
     *   <li><b>Multiple choice</b>: an answer written as a choice ({@code (B)}, {@code (b)}, {@code B.},
     *       {@code B)}, {@code B:} or a bare capital {@code B}, each optionally followed by the option's text, and
     *       {@code option B} / {@code answer: b} in any case) is its letter, and equals the same letter written
     *       any of those ways or as the bare normalized answer {@code b}. A capital followed by a word is a
     *       sentence, not a choice ({@code A cat}).</li>
     *   <li><b>Numbers</b>: two answers whose normalized text is a number (a percentage divided by 100, as
     *       ChartQA reads {@code 12%}) are equal when they differ by at most 5% of the smaller magnitude: ChartQA's
     *       relaxed accuracy (5% of the gold), made symmetric without ever accepting what ChartQA would reject
     *       with either one as the gold. {@code 0} equals only {@code 0}.</li>
     *   <li><b>Yes/no</b>: an answer that is exactly {@code yes} or {@code no} equals one that starts with that
     *       word ({@code yes = "Yes, there are two."}); two longer answers compare as text.</li>
     *   <li><b>Text</b>: otherwise the normalized texts must be equal (and not empty).</li>
     * </ol>
     * Answers over {@value ParsedAnswer#MAX_STRUCTURED_CHARS} characters compare as their lower-cased text
     * without white space. Symmetric; not transitive (the 5% rule), like the math variants.
     *
     * <pre>{@code
     * AnswerEquivalence vqa = AnswerEquivalence.vqa();
     * vqa.equivalent("Two", "2");                  // true
     * vqa.equivalent("(B) a red car", "b");         // true
     * vqa.equivalent("12.4", "12");                 // true: within 5% of 12
     * }</pre>
     *
     * @return the visual-question-answer rules
     */
    public static AnswerEquivalence vqa() {
        return VQA;
    }

    /** {@return whether this is the visual-question-answer variant} */
    public boolean isVqa() {
        return vqaRules;
    }

    /** {@return whether this is the MathRuler-compatible variant} */
    public boolean isMathRulerCompatible() {
        return mathRulerRules;
    }

    /**
     * Whether {@code a} and {@code b} are the same answer.
     *
     * @param a one final answer
     * @param b another
     * @return whether they mean the same
     */
    public boolean equivalent(String a, String b) {
        if (a == null || b == null) {
            throw new IllegalArgumentException("answers must not be null; an absent answer is Optional.empty()");
        }
        return equivalent(prepare(a), prepare(b));
    }

    /**
     * Prepares an answer for repeated comparison; {@link #equivalent(Prepared, Prepared)} on prepared
     * answers skips the normalizing and parsing, which is most of the cost.
     *
     * @param answer a final answer
     * @return it, normalized and parsed
     */
    public Prepared prepare(String answer) {
        if (answer == null) {
            throw new IllegalArgumentException("answer must not be null");
        }
        return vqaRules ? new Prepared(answer.strip(), null, VqaAnswer.of(answer))
                : new Prepared(answer.strip(), ParsedAnswer.of(answer), null);
    }

    /**
     * Equivalence of two prepared answers.
     *
     * @param a one prepared answer
     * @param b another
     * @return whether they mean the same
     */
    public boolean equivalent(Prepared a, Prepared b) {
        if (vqaRules) {
            return a.raw.equals(b.raw) || a.vqa().sameAs(b.vqa());
        }
        ParsedAnswer x = a.parsed();
        ParsedAnswer y = b.parsed();
        return x.raw().equals(y.raw()) || equivalentByRules(x, y);
    }

    /** The rules themselves, without the shortcut for identical text (tests use it to check reflexivity). */
    boolean equivalentByRules(ParsedAnswer x, ParsedAnswer y) {
        if (x.oversized() || y.oversized()) {
            return x.compactText().equals(y.compactText());
        }
        boolean unitsDiffer = !x.unit().isEmpty() && !y.unit().isEmpty() && !x.unit().equals(y.unit());
        if (unitsDiffer && !mathRulerRules) {
            return false; // 12 days is not 12 weeks; MathRuler's string stages say it is, so only its mode agrees
        }
        if (x.mathNormalized().equals(y.mathNormalized()) || prm(x).equals(prm(y))) {
            return true;
        }
        if (unitsDiffer || x.prmNormalized().isEmpty() || y.prmNormalized().isEmpty()) {
            return false;
        }
        return sameStructure(x, y);
    }

    private String prm(ParsedAnswer p) {
        return mathRulerRules ? p.prmNormalizedSnapped() : p.prmNormalized();
    }

    /**
     * Keys of an answer such that two answers sharing any key are equivalent under these rules (the converse
     * need not hold): the voter finds most classes through them in constant time and compares pairwise only the
     * rest. Oversized answers have their text as the only key. Keys of different {@code AnswerEquivalence}
     * variants are not comparable.
     *
     * @param prepared a prepared answer
     * @return its keys
     */
    public List<String> keys(Prepared prepared) {
        if (vqaRules) {
            return prepared.vqa().keys();
        }
        ParsedAnswer p = prepared.parsed();
        if (p.oversized()) {
            return List.of("o:" + p.mathNormalized());
        }
        // the unit is part of every key: answers that agree but for a conflicting unit are not equivalent
        String unit = mathRulerRules ? "" : p.unit() + "|";
        List<String> keys = new ArrayList<>(3);
        keys.add("m:" + unit + p.mathNormalized());
        if (!prm(p).isEmpty()) {
            keys.add("p:" + unit + prm(p));
        }
        if (!mathRulerRules && !p.prmNormalized().isEmpty()) {
            String structural = structuralKey(p);
            if (structural != null) {
                keys.add("s:" + p.unit() + "|" + structural);
            }
        }
        return keys;
    }

    /** Shape, brackets and each element's key (sorted when order does not matter); null if an element has none. */
    private static String structuralKey(ParsedAnswer p) {
        List<String> elementKeys = new ArrayList<>(p.elements().size());
        for (ParsedAnswer.Element e : p.elements()) {
            String k = elementKey(e);
            if (k == null) {
                return null;
            }
            elementKeys.add(k);
        }
        boolean unordered = p.shape() == ParsedAnswer.Shape.SET || p.shape() == ParsedAnswer.Shape.LIST;
        if (unordered) {
            java.util.Collections.sort(elementKeys);
        }
        String kind = unordered ? "U" : p.shape() == ParsedAnswer.Shape.ORDERED ? "O" + p.open() + p.close() : "S";
        return kind + elementKeys.size() + ":" + String.join("\u0000", elementKeys);
    }

    /**
     * A key for one element that only equivalent elements share (standard rules): its exact rational value, its
     * choice letter, or, for text that is neither a value nor a letter, the text; null when equivalence needs a
     * numeric comparison (irrational values, variables).
     */
    private static String elementKey(ParsedAnswer.Element e) {
        if (e.choice().isPresent()) {
            return e.leadingChoice().isPresent() ? null : "c:" + e.choice().get();
        }
        if (e.expression().isEmpty()) {
            return e.leadingChoice().isPresent() ? null : "t:" + e.text();
        }
        MathExpression x = e.expression().get();
        if (x.variables().isEmpty() && e.leadingChoice().isEmpty()) {
            Optional<Rational> v = x.exactValue();
            if (v.isPresent()) {
                return "q:" + v.get();
            }
        }
        return null;
    }

    private boolean sameStructure(ParsedAnswer x, ParsedAnswer y) {
        boolean unorderedX = x.shape() == ParsedAnswer.Shape.SET || x.shape() == ParsedAnswer.Shape.LIST;
        boolean unorderedY = y.shape() == ParsedAnswer.Shape.SET || y.shape() == ParsedAnswer.Shape.LIST;
        if (!mathRulerRules && unorderedX && unorderedY) {
            return sameMultiset(x.elements(), y.elements());
        }
        if (x.shape() != y.shape() || x.elements().size() != y.elements().size()) {
            return false;
        }
        if (x.shape() == ParsedAnswer.Shape.ORDERED && (x.open() != y.open() || x.close() != y.close())) {
            return false;
        }
        for (int i = 0; i < x.elements().size(); i++) {
            if (!sameElement(x.elements().get(i), y.elements().get(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Unordered comparison in near-linear time: elements that share a key are matched through a hash map, and
     * only the rest (at most {@link #MAX_PAIRWISE_ELEMENTS} of them) are matched pairwise.
     */
    private boolean sameMultiset(List<ParsedAnswer.Element> xs, List<ParsedAnswer.Element> ys) {
        if (xs.size() != ys.size()) {
            return false;
        }
        Map<String, ArrayDeque<ParsedAnswer.Element>> keyedY = new HashMap<>();
        List<ParsedAnswer.Element> unused = new ArrayList<>();
        for (ParsedAnswer.Element e : ys) {
            String k = elementKey(e);
            if (k == null) {
                unused.add(e);
            } else {
                keyedY.computeIfAbsent(k, key -> new ArrayDeque<>()).add(e);
            }
        }
        List<ParsedAnswer.Element> restX = new ArrayList<>();
        for (ParsedAnswer.Element e : xs) {
            String k = elementKey(e);
            ArrayDeque<ParsedAnswer.Element> match = k == null ? null : keyedY.get(k);
            if (match != null && !match.isEmpty()) {
                match.pop();
            } else {
                restX.add(e);
            }
        }
        keyedY.values().forEach(unused::addAll);
        if (restX.size() != unused.size() || restX.size() > MAX_PAIRWISE_ELEMENTS) {
            return false;
        }
        for (ParsedAnswer.Element e : restX) {
            boolean found = false;
            for (int j = 0; j < unused.size(); j++) {
                if (sameElement(e, unused.get(j))) {
                    unused.remove(j);
                    found = true;
                    break;
                }
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    private boolean sameElement(ParsedAnswer.Element a, ParsedAnswer.Element b) {
        if (a.text().equals(b.text())) {
            return true;
        }
        if (a.choice().isPresent() && b.choice().isPresent()) {
            return a.choice().get().equals(b.choice().get());
        }
        if (!mathRulerRules) {
            if (a.choice().isPresent() && b.leadingChoice().isPresent()) {
                return a.choice().get().equals(b.leadingChoice().get());
            }
            if (b.choice().isPresent() && a.leadingChoice().isPresent()) {
                return b.choice().get().equals(a.leadingChoice().get());
            }
        }
        if (a.expression().isEmpty() || b.expression().isEmpty()) {
            return false;
        }
        MathExpression ea = a.expression().get();
        MathExpression eb = b.expression().get();
        if (decimalApproximates(a, ea, eb) || decimalApproximates(b, eb, ea)) {
            return false; // 6.283185307 is not 2\pi, however many digits it has (sympy agrees)
        }
        if (mathRulerRules) {
            Optional<long[]> fa = ea.literalFraction();
            Optional<long[]> fb = eb.literalFraction();
            if (fa.isPresent() && fb.isPresent()) {
                return fa.get()[0] == fb.get()[0] && fa.get()[1] == fb.get()[1];
            }
            if (ea.isIntegerLiteral() != eb.isIntegerLiteral()) {
                return false;
            }
        }
        return sameValue(ea, eb);
    }

    /** Whether {@code e} is a decimal literal and {@code other} an irrational constant expression. */
    private static boolean decimalApproximates(ParsedAnswer.Element e, MathExpression value, MathExpression other) {
        return DECIMAL_LITERAL.matcher(e.text()).matches() && value.exactValue().isPresent()
                && other.variables().isEmpty() && other.exactValue().isEmpty();
    }

    static boolean sameValue(MathExpression a, MathExpression b) {
        Set<String> vars = new TreeSet<>(a.variables());
        vars.addAll(b.variables());
        if (vars.size() > MAX_VARIABLES) {
            return false;
        }
        if (vars.isEmpty()) {
            Optional<Rational> ra = a.exactValue();
            Optional<Rational> rb = b.exactValue();
            if (ra.isPresent() && rb.isPresent()) {
                return ra.get().equals(rb.get());
            }
            double va = a.evaluate(Map.of());
            double vb = b.evaluate(Map.of());
            if ((Double.isInfinite(va) || Double.isInfinite(vb))
                    && !(a.mentionsInfinity() && b.mentionsInfinity())) {
                return false; // overflow, not infinity: too large to compare
            }
            return close(va, vb);
        }
        List<String> names = List.copyOf(vars);
        int valid = 0;
        for (int i = 0; i < SAMPLES.length; i++) {
            Map<String, Double> point = names.size() == 1
                    ? Map.of(names.get(0), SAMPLES[i])
                    : Map.of(names.get(0), SAMPLES[i], names.get(1), SAMPLES[(i + 3) % SAMPLES.length]);
            double va = a.evaluate(point);
            double vb = b.evaluate(point);
            if (!Double.isFinite(va) || !Double.isFinite(vb)) {
                continue; // outside a domain (sqrt of a negative): this point says nothing
            }
            if (!close(va, vb)) {
                return false;
            }
            valid++;
        }
        return valid >= MIN_VALID_SAMPLES;
    }

    static boolean close(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b)) {
            return false;
        }
        if (a == b) {
            return true; // also the same infinity
        }
        if (Double.isInfinite(a) || Double.isInfinite(b)) {
            return false;
        }
        double diff = Math.abs(a - b);
        return diff <= ABSOLUTE_TOLERANCE || diff <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
    }

    @Override
    public String toString() {
        return vqaRules ? "AnswerEquivalence[VQA]"
                : mathRulerRules ? "AnswerEquivalence[MathRuler-compatible]" : "AnswerEquivalence[standard]";
    }

    /**
     * An answer normalized and parsed once by {@link #prepare(String)}; compare it with
     * {@link #equivalent(Prepared, Prepared)} of the same or any other {@code AnswerEquivalence}.
     */
    public static final class Prepared {
        private final String raw;
        // each read lazily when a variant that needs it compares (idempotent, so a race only repeats the work)
        private volatile ParsedAnswer parsed;
        private volatile VqaAnswer vqa;

        private Prepared(String raw, ParsedAnswer parsed, VqaAnswer vqa) {
            this.raw = raw;
            this.parsed = parsed;
            this.vqa = vqa;
        }

        ParsedAnswer parsed() {
            ParsedAnswer p = parsed;
            if (p == null) {
                p = ParsedAnswer.of(raw);
                parsed = p;
            }
            return p;
        }

        VqaAnswer vqa() {
            VqaAnswer v = vqa;
            if (v == null) {
                v = VqaAnswer.of(raw);
                vqa = v;
            }
            return v;
        }

        /** {@return the answer as given, stripped} */
        public String answer() {
            return raw;
        }

        @Override
        public String toString() {
            return raw;
        }
    }
}
