package io.github.mmupt.examples.bench;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The time bound of answer handling on hostile model output, measured: the slowest {@code extract} and
 * {@code equivalent} call over families of pathological answers up to 1 MB (digit and letter runs, huge
 * tuples and sets, nested brackets, many boxes and tags, long unit phrases), and the time to vote over 10,000
 * long answers and over 2,000 distinct expressions. Each case runs a few times and its best time counts (the
 * bound is about the algorithm, not the scheduler). Last line:
 * {@code max_equivalent_ms=... max_extract_ms=... vote_10k_long_ms=... vote_2k_distinct_ms=...}; the contract
 * is under 50 ms for any pair up to 1 MB.
 */
public final class AnswerBenchmark {

    private static final int MB = 1 << 20;
    private static final int REPEATS = 3;

    private AnswerBenchmark() {
    }

    public static void main(String[] args) {
        Map<String, String[]> pairs = new LinkedHashMap<>();
        String digits = "1".repeat(MB);
        pairs.put("digit run + letter", new String[] {digits + "x", digits + "y"});
        pairs.put("identical million digits", new String[] {"9".repeat(MB), new String("9".repeat(MB).toCharArray())});
        pairs.put("letter run after a number", new String[] {"5 " + "a".repeat(MB), "5"});
        pairs.put("unit phrase at the structured size", new String[] {"5 " + "ab ".repeat(330), "5"});
        pairs.put("digit run at the structured size", new String[] {"1".repeat(999) + "x", "1".repeat(998)});
        pairs.put("300k-element tuple", new String[] {tuple(300_000, false), tuple(300_000, true)});
        pairs.put("set at the structured size", new String[] {set(200, false), set(200, true)});
        pairs.put("irrational set", new String[] {irrationalSet(40, false), irrationalSet(40, true)});
        pairs.put("nested brackets", new String[] {"(".repeat(MB / 2) + "1" + ")".repeat(MB / 2), "1"});
        pairs.put("nested brackets, structured", new String[] {"(".repeat(490) + "1" + ")".repeat(490), "1"});
        pairs.put("towers of powers", new String[] {"9^".repeat(300) + "9", "9^".repeat(299) + "8"});
        pairs.put("factorials", new String[] {"100!".repeat(1) + "^100!", "99!^100!"});
        pairs.put("two-variable polynomial", new String[] {poly(60, false), poly(60, true)});
        pairs.put("text commands", new String[] {"\\text{".repeat(160) + "5" + "}".repeat(160), "5"});
        pairs.put("dollar delimiters", new String[] {"$".repeat(498) + "5" + "$".repeat(498), "5"});
        pairs.put("thousands commas", new String[] {"1" + ",000".repeat(240), "1" + "000".repeat(240)});
        pairs.put("sqrt chain", new String[] {"\\sqrt".repeat(190) + "{2}", "2"});

        double maxEquivalent = 0;
        String slowestPair = "";
        for (Map.Entry<String, String[]> e : pairs.entrySet()) {
            for (AnswerEquivalence eq : new AnswerEquivalence[] {AnswerEquivalence.standard(),
                AnswerEquivalence.mathRulerCompatible()}) {
                String a = e.getValue()[0];
                String b = e.getValue()[1];
                double ms = best(() -> eq.equivalent(a, b));
                if (ms > maxEquivalent) {
                    maxEquivalent = ms;
                    slowestPair = e.getKey() + " (" + eq + ")";
                }
                System.out.printf("equivalent  %-36s %-36s %8.2f ms%n", e.getKey(), eq, ms);
            }
        }

        Map<String, String> responses = new LinkedHashMap<>();
        responses.put("unclosed answer tags", "<answer>".repeat(MB / 8));
        responses.put("many closing tags", "<answer> 7 </answer>" + "</answer>x".repeat(MB / 10));
        responses.put("unclosed boxes", "\\boxed{".repeat(MB / 7));
        responses.put("deep box", "\\boxed{" + "{".repeat(MB / 2) + "}".repeat(MB / 2) + "}");
        responses.put("answer-is phrases", "the answer is ".repeat(MB / 14));
        responses.put("escapes", "\\".repeat(MB));
        AnswerExtractor all = AnswerExtractor.builder().answerTags(true).answerIsPhrase(true).build();
        double maxExtract = 0;
        for (Map.Entry<String, String> e : responses.entrySet()) {
            double ms = best(() -> all.extract(e.getValue()));
            maxExtract = Math.max(maxExtract, ms);
            System.out.printf("extract     %-36s %8.2f ms%n", e.getKey(), ms);
        }

        List<Optional<String>> longAnswers = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            longAnswers.add(Optional.of(i % 3 + "x".repeat(2000) + i));
        }
        double voteLong = best(() -> MajorityVoteLabeler.standard().label(longAnswers));
        List<Optional<String>> expressions = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            expressions.add(Optional.of("\\sqrt{" + (i + 2) + "} + x^" + (i % 5 + 1)));
        }
        double voteDistinct = best(() -> MajorityVoteLabeler.standard().label(expressions));
        System.out.printf("vote        10,000 distinct 2 KB answers           %8.2f ms%n", voteLong);
        System.out.printf("vote        2,000 distinct expressions             %8.2f ms%n", voteDistinct);
        System.out.println("slowest pair: " + slowestPair);
        System.out.printf("max_equivalent_ms=%.2f max_extract_ms=%.2f vote_10k_long_ms=%.1f vote_2k_distinct_ms=%.1f%n",
                maxEquivalent, maxExtract, voteLong, voteDistinct);
    }

    private static double best(Supplier<?> call) {
        double best = Double.MAX_VALUE;
        for (int r = 0; r < REPEATS; r++) {
            long t0 = System.nanoTime();
            call.get();
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        return best;
    }

    private static String tuple(int n, boolean spaced) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : spaced ? ", " : ",").append(i);
        }
        return b.append(')').toString();
    }

    private static String set(int n, boolean reversed) {
        StringBuilder b = new StringBuilder("\\{");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append(reversed ? n - 1 - i : i);
        }
        return b.append("\\}").toString();
    }

    private static String irrationalSet(int n, boolean reversed) {
        StringBuilder b = new StringBuilder("\\{");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append("\\sqrt{").append(reversed ? n + 1 - i : i + 2).append('}');
        }
        return b.append("\\}").toString();
    }

    private static String poly(int terms, boolean reversed) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < terms; i++) {
            int k = reversed ? terms - 1 - i : i;
            b.append(i == 0 ? "" : "+").append(k + 1).append("x^").append(k % 7).append("y^").append(k % 3);
        }
        return b.toString();
    }
}
