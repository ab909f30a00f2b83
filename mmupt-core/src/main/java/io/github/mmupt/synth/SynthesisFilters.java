package io.github.mmupt.synth;

import io.github.mmupt.rollout.SamplingParams;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What a written question must pass to become training data, checked in this order (the first failure is the
 * one counted in {@link SynthesisReport}):
 * <ol>
 *   <li>it parses as a question ({@link Builder#questionCheck}; default: contains a letter and ends with
 *       {@code ?});</li>
 *   <li>its length in words is within [{@code minWords}, {@code maxWords}] (default [3, 64]);</li>
 *   <li>it is not a near-duplicate of the original question, nor of a question already kept (for the same image
 *       by default, or across the whole set with {@code duplicatesAcrossImages(true)}): near means a Jaccard
 *       similarity of the word sets at or above {@code maxSimilarity} (default 0.9; 1 removes exact duplicates
 *       only, up to case, punctuation and spacing);</li>
 *   <li>optionally, self-consistency: the policy answers it {@code consistency} times and the majority answer
 *       must hold at least {@code minAgreement} of the votes (default off).</li>
 * </ol>
 *
 * <pre>{@code
 * SynthesisFilters filters = SynthesisFilters.builder().words(4, 40).maxSimilarity(0.8)
 *         .selfConsistency(0.5, SamplingParams.builder().responsesPerPrompt(8).temperature(0.7).build()).build();
 * }</pre>
 */
public record SynthesisFilters(Predicate<String> questionCheck, int minWords, int maxWords, double maxSimilarity,
        boolean duplicatesAcrossImages, double minAgreement, Optional<SamplingParams> consistency) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param questionCheck the component {@code questionCheck}, described with the class
     * @param minWords the component {@code minWords}, described with the class
     * @param maxWords the component {@code maxWords}, described with the class
     * @param maxSimilarity the component {@code maxSimilarity}, described with the class
     * @param duplicatesAcrossImages the component {@code duplicatesAcrossImages}, described with the class
     * @param minAgreement the component {@code minAgreement}, described with the class
     * @param consistency the component {@code consistency}, described with the class
     */
    public SynthesisFilters {
        if (questionCheck == null || consistency == null) {
            throw new IllegalArgumentException("questionCheck and consistency must not be null");
        }
        if (minWords < 1 || maxWords < minWords) {
            throw new IllegalArgumentException("word bounds must satisfy 1 <= minWords <= maxWords, got [" + minWords + ", "
                    + maxWords + "]");
        }
        if (!(maxSimilarity > 0 && maxSimilarity <= 1)) {
            throw new IllegalArgumentException("maxSimilarity must be in (0, 1], got " + maxSimilarity);
        }
        if (!(minAgreement >= 0 && minAgreement <= 1)) {
            throw new IllegalArgumentException("minAgreement must be in [0, 1], got " + minAgreement);
        }
        if (minAgreement > 0 && consistency.isEmpty()) {
            throw new IllegalArgumentException("a self-consistency threshold needs the sampling settings to answer with");
        }
    }

    /** {@return the defaults listed above} */
    public static SynthesisFilters defaults() {
        return builder().build();
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return whether self-consistency is checked} */
    public boolean checksConsistency() {
        return minAgreement > 0;
    }

    /**
     * The default question check: some letter, and a final question mark.
     *
     * @param text a candidate
     * @return whether it has a letter and ends with a question mark
     */
    public static boolean looksLikeQuestion(String text) {
        String t = text.strip();
        return t.endsWith("?") && t.chars().anyMatch(Character::isLetter);
    }

    /**
     * Lower-cased words (runs of letters and digits): what length and similarity are measured on.
     *
     * @param text a question
     * @return its lower-case words
     */
    public static Set<String> words(String text) {
        return new HashSet<>(Arrays.asList(wordArray(text)));
    }

    static int wordCount(String text) {
        return wordArray(text).length;
    }

    private static String[] wordArray(String text) {
        String t = text.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}]+", " ").strip();
        return t.isEmpty() ? new String[0] : t.split(" ");
    }

    /** Whether {@code text} is a near-duplicate (similarity at or above {@code maxSimilarity}) of one of {@code kept}. */
    boolean nearDuplicate(String text, java.util.List<String> kept) {
        for (String k : kept) {
            if (similarity(text, k) >= maxSimilarity) {
                return true;
            }
        }
        return false;
    }

    /**
     * Jaccard similarity of two texts' word sets; 1 for two texts without words.
     *
     * @param a one question
     * @param b another
     * @return the Jaccard similarity of their word sets, in [0, 1]
     */
    public static double similarity(String a, String b) {
        Set<String> x = words(a);
        Set<String> y = words(b);
        if (x.isEmpty() && y.isEmpty()) {
            return 1.0;
        }
        Set<String> union = new HashSet<>(x);
        union.addAll(y);
        x.retainAll(y);
        return (double) x.size() / union.size();
    }

    /** Options of {@link SynthesisFilters}; each setter documents its default. */
    public static final class Builder {
        private Predicate<String> questionCheck = SynthesisFilters::looksLikeQuestion;
        private int minWords = 3;
        private int maxWords = 64;
        private double maxSimilarity = 0.9;
        private boolean acrossImages;
        private double minAgreement;
        private SamplingParams consistency;

        private Builder() {
        }

        /**
         * Whether a text is a question of the kind wanted. Default {@link #looksLikeQuestion}.
         *
         * @param check the new value
         * @return this builder
         */
        public Builder questionCheck(Predicate<String> check) {
            this.questionCheck = check;
            return this;
        }

        /**
         * Length bounds in words, inclusive. Default [3, 64].
         *
         * @param min the new value
         * @param max the new value
         * @return this builder
         */
        public Builder words(int min, int max) {
            this.minWords = min;
            this.maxWords = max;
            return this;
        }

        /**
         * Similarity (0, 1] at or above which a question is a near-duplicate. Default 0.9.
         *
         * @param similarity the new value
         * @return this builder
         */
        public Builder maxSimilarity(double similarity) {
            this.maxSimilarity = similarity;
            return this;
        }

        /**
         * Also remove questions that repeat one kept for another image. Default false (per image).
         *
         * @param across the new value
         * @return this builder
         */
        public Builder duplicatesAcrossImages(boolean across) {
            this.acrossImages = across;
            return this;
        }

        /**
         * Keep a question only if the policy's majority answer to it holds at least {@code minAgreement} of the
         * {@code answering.responsesPerPrompt()} votes. Default off.
         *
         * @param minAgreement the new value
         * @param answering the new value
         * @return this builder
         */
        public Builder selfConsistency(double minAgreement, SamplingParams answering) {
            this.minAgreement = minAgreement;
            this.consistency = answering;
            return this;
        }

        /** {@return the settings, checked together} */
        public SynthesisFilters build() {
            return new SynthesisFilters(questionCheck, minWords, maxWords, maxSimilarity, acrossImages, minAgreement,
                    Optional.ofNullable(consistency));
        }
    }
}
