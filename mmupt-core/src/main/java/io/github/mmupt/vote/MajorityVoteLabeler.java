package io.github.mmupt.vote;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerEquivalence;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Majority voting over classes of equivalent answers: MM-UPT's pseudo-labeler, with its pitfalls fixed.
 *
 * <p>The rules, in order:
 * <ol>
 *   <li>Responses with no answer do not vote and get reward 0.</li>
 *   <li>Answers are clustered in sampling order: each answer joins the first existing class whose first
 *       member it is {@linkplain AnswerEquivalence equivalent} to, or starts a new class. So {@code 0.5} and
 *       {@code \frac{1}{2}} are one vote, not two. (Because equivalence uses a tolerance it need not be
 *       transitive; clustering against each class's first member keeps the result deterministic.) Identical
 *       texts and answers sharing a {@linkplain AnswerEquivalence#keys canonical key} with a class join it in
 *       constant time; the pairwise checks that remain are capped at {@value #MAX_PAIRWISE_CHECKS} per vote
 *       (after that, answers join classes by key only), so a vote's time grows about linearly with the
 *       responses whatever they hold.</li>
 *   <li>The class with most votes wins. A tie goes to the class whose first member was sampled earliest,
 *       which is also MM-UPT's rule ({@code Counter.most_common} keeps insertion order).</li>
 *   <li>The prompt is abstained (no label, every reward 0) when no response has an answer or the winner's
 *       vote share, its votes over all N responses, is below {@link Builder#minAgreement(double)}.</li>
 *   <li>Rewards follow the {@link RewardMode}: 1 or 0 for membership of the winning class, or the vote share
 *       of the response's own class.</li>
 * </ol>
 *
 * <p>{@link #mmUptCompatible()} instead reproduces MM-UPT exactly, for comparison: votes are exact answer
 * strings, a response with no answer votes for the string {@code "None"} (which can win, pitfall P1), there
 * is no abstention, and each response is rewarded by MathRuler-compatible equivalence with the label.
 *
 * <pre>{@code
 * PseudoLabeler labeler = MajorityVoteLabeler.builder().minAgreement(0.3).rewardMode(RewardMode.SOFT).build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class MajorityVoteLabeler implements PseudoLabeler {

    private static final String MM_UPT_NO_ANSWER = "None";
    /**
     * Pairwise equivalence checks one vote may spend on answers that share no key with an earlier class; past
     * it, answers are grouped by their keys alone. It bounds a vote's time whatever the responses are.
     */
    static final int MAX_PAIRWISE_CHECKS = 4096;

    private final AnswerEquivalence equivalence;
    private final double minAgreement;
    private final RewardMode rewardMode;
    private final boolean mmUptCompatible;

    private MajorityVoteLabeler(AnswerEquivalence equivalence, double minAgreement, RewardMode rewardMode,
            boolean mmUptCompatible) {
        this.equivalence = equivalence;
        this.minAgreement = minAgreement;
        this.rewardMode = rewardMode;
        this.mmUptCompatible = mmUptCompatible;
    }

    /**
     * Equivalence classes, no minimum agreement, binary rewards.
     *
     * @return the labeler
     */
    public static MajorityVoteLabeler standard() {
        return builder().build();
    }

    /**
     * MM-UPT's published behaviour, pitfalls included; for comparison runs only.
     *
     * @return the labeler
     */
    public static MajorityVoteLabeler mmUptCompatible() {
        return new MajorityVoteLabeler(AnswerEquivalence.mathRulerCompatible(), 0.0, RewardMode.BINARY, true);
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return which answers count as one vote} */
    public AnswerEquivalence equivalence() {
        return equivalence;
    }

    /** {@return the least vote share that labels} */
    public double minAgreement() {
        return minAgreement;
    }

    /** {@return binary or soft rewards} */
    public RewardMode rewardMode() {
        return rewardMode;
    }

    /** {@return whether this reproduces MM-UPT's voting} */
    public boolean isMmUptCompatible() {
        return mmUptCompatible;
    }

    @Override
    public VoteResult label(List<Optional<String>> answers) {
        if (answers == null || answers.isEmpty()) {
            throw new IllegalArgumentException("a vote needs at least one response, got "
                    + (answers == null ? "null" : "none"));
        }
        for (int i = 0; i < answers.size(); i++) {
            if (answers.get(i) == null) {
                throw new IllegalArgumentException("answer " + i + " is null; use Optional.empty() for none");
            }
        }
        return mmUptCompatible ? labelLikeMmUpt(answers) : labelByClasses(answers);
    }

    private VoteResult labelByClasses(List<Optional<String>> answers) {
        int n = answers.size();
        int[] classOf = new int[n];
        List<AnswerEquivalence.Prepared> representatives = new ArrayList<>();
        List<Integer> votes = new ArrayList<>();
        Map<String, Integer> classOfString = new HashMap<>();
        Map<String, Integer> classOfKey = new HashMap<>();
        int pairwiseLeft = MAX_PAIRWISE_CHECKS;
        for (int i = 0; i < n; i++) {
            Optional<String> answer = answers.get(i);
            if (answer.isEmpty()) {
                classOf[i] = -1;
                continue;
            }
            String text = answer.get().strip();
            Integer known = classOfString.get(text);
            if (known == null) {
                AnswerEquivalence.Prepared prepared = equivalence.prepare(text);
                List<String> keys = equivalence.keys(prepared);
                int byKey = Integer.MAX_VALUE;
                for (String k : keys) {
                    Integer c = classOfKey.get(k);
                    if (c != null) {
                        byKey = Math.min(byKey, c);
                    }
                }
                // an earlier class may still be equivalent without sharing a key: compare with those, in order
                int limit = Math.min(byKey, representatives.size());
                for (int c = 0; c < limit && known == null && pairwiseLeft > 0; c++) {
                    pairwiseLeft--;
                    if (equivalence.equivalent(prepared, representatives.get(c))) {
                        known = c;
                    }
                }
                if (known == null && byKey != Integer.MAX_VALUE) {
                    known = byKey;
                }
                if (known == null) {
                    known = representatives.size();
                    representatives.add(prepared);
                    votes.add(0);
                    for (String k : keys) {
                        classOfKey.putIfAbsent(k, known);
                    }
                }
                classOfString.put(text, known);
            }
            classOf[i] = known;
            votes.set(known, votes.get(known) + 1);
        }
        int winner = argmaxFirst(votes);
        if (winner >= 0 && (double) votes.get(winner) / n < minAgreement) {
            winner = -1;
        }
        double[] rewards = new double[n];
        if (winner >= 0) {
            for (int i = 0; i < n; i++) {
                if (classOf[i] >= 0) {
                    rewards[i] = rewardMode.reward(votes.get(classOf[i]), classOf[i] == winner, n);
                }
            }
        }
        Optional<String> label = winner >= 0 ? Optional.of(representatives.get(winner).answer()) : Optional.empty();
        return new VoteResult(answers, label, ImmutableIntArray.copyOf(classOf),
                ImmutableIntArray.copyOf(votes), winner, ImmutableDoubleArray.copyOf(rewards));
    }

    private VoteResult labelLikeMmUpt(List<Optional<String>> answers) {
        int n = answers.size();
        int[] classOf = new int[n];
        List<String> strings = new ArrayList<>();
        List<Integer> votes = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < n; i++) {
            String vote = answers.get(i).map(String::strip).orElse(MM_UPT_NO_ANSWER);
            Integer c = index.get(vote);
            if (c == null) {
                c = strings.size();
                index.put(vote, c);
                strings.add(vote);
                votes.add(0);
            }
            classOf[i] = c;
            votes.set(c, votes.get(c) + 1);
        }
        int winner = argmaxFirst(votes);
        String label = strings.get(winner);
        AnswerEquivalence.Prepared preparedLabel = equivalence.prepare(label);
        double[] rewards = new double[n];
        for (int i = 0; i < n; i++) {
            String vote = strings.get(classOf[i]);
            rewards[i] = equivalence.equivalent(equivalence.prepare(vote), preparedLabel) ? 1.0 : 0.0;
        }
        return new VoteResult(answers, Optional.of(label), ImmutableIntArray.copyOf(classOf),
                ImmutableIntArray.copyOf(votes), winner, ImmutableDoubleArray.copyOf(rewards));
    }

    /** Index of the largest count, the earliest one on ties; -1 for no classes. */
    private static int argmaxFirst(List<Integer> votes) {
        int best = -1;
        for (int c = 0; c < votes.size(); c++) {
            if (best < 0 || votes.get(c) > votes.get(best)) {
                best = c;
            }
        }
        return best;
    }

    @Override
    public LabelAudit audit(VoteResult vote, String goldAnswer) {
        if (vote == null || goldAnswer == null) {
            throw new IllegalArgumentException("vote and goldAnswer must not be null");
        }
        AnswerEquivalence.Prepared gold = equivalence.prepare(goldAnswer);
        int n = vote.size();
        int agree = 0;
        int correct = 0;
        for (int i = 0; i < n; i++) {
            Optional<String> answer = vote.answers().get(i);
            boolean isCorrect = answer.isPresent() && equivalence.equivalent(equivalence.prepare(answer.get()), gold);
            boolean rewarded = vote.rewards().get(i) > 0;
            if (isCorrect) {
                correct++;
            }
            if (isCorrect == rewarded) {
                agree++;
            }
        }
        Optional<Boolean> labelCorrect = vote.label()
                .map(label -> equivalence.equivalent(equivalence.prepare(label), gold));
        if (mmUptCompatible && vote.label().isPresent() && vote.label().get().equals(MM_UPT_NO_ANSWER)) {
            labelCorrect = Optional.of(false); // "None" won the vote: never a correct label
        }
        return new LabelAudit(labelCorrect, (double) agree / n, (double) correct / n);
    }

    @Override
    public String toString() {
        return mmUptCompatible ? "MajorityVoteLabeler[MM-UPT compatible]"
                : "MajorityVoteLabeler[" + equivalence + ", minAgreement=" + minAgreement + ", " + rewardMode + "]";
    }

    /** Options of a {@link MajorityVoteLabeler}. */
    public static final class Builder {
        private AnswerEquivalence equivalence = AnswerEquivalence.standard();
        private double minAgreement = 0.0;
        private RewardMode rewardMode = RewardMode.BINARY;

        private Builder() {
        }

        /**
         * Which answers count as the same vote. Default {@link AnswerEquivalence#standard()}.
         *
         * @param equivalence the new value
         * @return this builder
         */
        public Builder equivalence(AnswerEquivalence equivalence) {
            if (equivalence == null) {
                throw new IllegalArgumentException("equivalence must not be null");
            }
            this.equivalence = equivalence;
            return this;
        }

        /**
         * Minimum vote share, in [0, 1], of the winning class over all N responses; below it the prompt is
         * abstained. Default 0 (label whenever any response answers), as MM-UPT. SRT calls this the
         * self-consistency threshold; raising it trades coverage for label accuracy against confirmation bias.
         *
         * @param share the new value
         * @return this builder
         */
        public Builder minAgreement(double share) {
            if (!(share >= 0 && share <= 1)) {
                throw new IllegalArgumentException("minAgreement must be in [0, 1], got " + share);
            }
            this.minAgreement = share;
            return this;
        }

        /**
         * Binary (default) or soft rewards.
         *
         * @param mode the new value
         * @return this builder
         */
        public Builder rewardMode(RewardMode mode) {
            if (mode == null) {
                throw new IllegalArgumentException("rewardMode must not be null");
            }
            this.rewardMode = mode;
            return this;
        }

        /** {@return the settings, checked together} */
        public MajorityVoteLabeler build() {
            return new MajorityVoteLabeler(equivalence, minAgreement, rewardMode, false);
        }
    }
}
