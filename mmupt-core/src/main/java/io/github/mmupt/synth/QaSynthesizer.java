package io.github.mmupt.synth;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.data.Provenance;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.seed.Seeds;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.PseudoLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Genixer-style data generation (Zhao et al., 2024), the question synthesizer's sibling that writes answers
 * too: the policy sees an image only and writes a question and its answer ({@link QaPrompts}); the question
 * passes the same filters as {@link QuestionSynthesizer}'s ({@link SynthesisFilters}: a question, its length, no
 * near-duplicate); then self-consistency, which Genixer's filter calls for: the policy answers the written
 * question {@code answering.responsesPerPrompt()} times, and the pair is kept only when the majority answer holds
 * at least {@code minAgreement} of the votes <em>and</em> is equivalent to the written answer. A kept pair becomes
 * a labeled example for SFT ({@code TrainingMode.SFT}): the written answer as its answer, and the first sampled
 * response that reached it as its response (the model's own rationale, as LMSI trains on).
 *
 * <pre>{@code
 * SynthesisResult r = QaSynthesizer.builder().sampler(sampler).seed(7).build().synthesize(unlabeled.examples());
 * MmUpt.builder().mode(TrainingMode.SFT).data(r.dataset())...
 * }</pre>
 *
 * <p>No gold answer or response of a source is read: only its images (its question only for the duplicate
 * check). Deterministic for the same seed, sampler and inputs. Not thread-safe; the caller owns the sampler.
 */
public final class QaSynthesizer {

    private static final Logger LOG = LoggerFactory.getLogger(QaSynthesizer.class);

    /** The strategy name in provenance. */
    public static final String STRATEGY = "genixer";

    private final RolloutSampler sampler;
    private final QaPrompts prompts;
    private final SamplingParams writing;
    private final SamplingParams answering;
    private final double minAgreement;
    private final SynthesisFilters filters;
    private final PseudoLabeler labeler;
    private final AnswerEquivalence equivalence;
    private final int pairsPerSource;
    private final long seed;

    private QaSynthesizer(Builder b) {
        this.sampler = b.sampler;
        this.prompts = b.prompts;
        this.writing = b.writing;
        this.answering = b.answering;
        this.minAgreement = b.minAgreement;
        this.filters = b.filters;
        this.labeler = b.labeler;
        this.equivalence = b.equivalence;
        this.pairsPerSource = b.pairsPerSource;
        this.seed = b.seed;
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Writes question-answer pairs about the images of {@code sources}, filters them and returns the kept ones
     * as labeled examples (answer and response from the policy), with what each filter removed.
     *
     * @param sources the examples whose images are written about
     * @return the kept pairs and the report ({@code notAQuestion} also counts replies without a readable answer)
     */
    public SynthesisResult synthesize(List<Example> sources) {
        List<Prompt> writers = new ArrayList<>();
        for (Example s : sources) {
            writers.add(prompts.writerPrompt(s, s.prompt().id() + "#qa-write"));
        }
        List<RolloutGroup> written = writers.isEmpty() ? List.of() : sampler.sample(writers, writing, seed);
        if (written.size() != writers.size()) {
            throw new IllegalStateException("the sampler returned " + written.size() + " groups for " + writers.size()
                    + " prompts");
        }
        int candidates = 0;
        int notAPair = 0;
        int outOfLength = 0;
        int duplicateOfOriginal = 0;
        int duplicateOfKept = 0;
        List<Candidate> passed = new ArrayList<>();
        List<String> keptTexts = new ArrayList<>();
        for (int s = 0; s < sources.size(); s++) {
            Example source = sources.get(s);
            String original = SynthesisPrompts.questionText(source.prompt());
            List<String> keptHere = new ArrayList<>();
            List<Rollout> rollouts = written.get(s).rollouts();
            for (int k = 0; k < rollouts.size(); k++) {
                candidates++;
                Optional<String[]> pair = prompts.split(rollouts.get(k).text());
                String question = pair.map(p -> p[0]).orElse("");
                int words = SynthesisFilters.wordCount(question);
                if (pair.isEmpty() || !filters.questionCheck().test(question)) {
                    notAPair++;
                } else if (words < filters.minWords() || words > filters.maxWords()) {
                    outOfLength++;
                } else if (SynthesisFilters.similarity(question, original) >= filters.maxSimilarity()) {
                    duplicateOfOriginal++;
                } else if (filters.nearDuplicate(question, filters.duplicatesAcrossImages() ? keptTexts : keptHere)) {
                    duplicateOfKept++;
                } else {
                    keptHere.add(question);
                    keptTexts.add(question);
                    passed.add(new Candidate(source, question, pair.get()[1], k));
                }
            }
        }

        List<Prompt> checks = new ArrayList<>();
        for (Candidate c : passed) {
            checks.add(prompts.newQuestion(c.source(), c.question(), c.source().prompt().id() + "#qa-check-" + c.index()));
        }
        List<RolloutGroup> answered = checks.isEmpty() ? List.of()
                : sampler.sample(checks, answering, Seeds.synthesisConsistency(seed));
        if (answered.size() != checks.size()) {
            throw new IllegalStateException("the sampler returned " + answered.size() + " groups for " + checks.size()
                    + " prompts");
        }
        int inconsistent = 0;
        int surplus = 0;
        List<Example> out = new ArrayList<>();
        String lastSource = null;
        int quota = 0;
        for (int i = 0; i < passed.size(); i++) {
            Candidate c = passed.get(i);
            Optional<Rollout> rationale = consistentResponse(c, answered.get(i));
            if (rationale.isEmpty()) {
                inconsistent++;
                continue;
            }
            String sourceId = c.source().prompt().id();
            if (!sourceId.equals(lastSource)) {
                lastSource = sourceId;
                quota = 0;
            }
            if (quota == pairsPerSource) {
                surplus++;
                continue;
            }
            quota++;
            String id = sourceId + "#" + STRATEGY + "-" + c.index();
            out.add(new Example(prompts.newQuestion(c.source(), c.question(), id), Optional.of(c.answer()),
                    Optional.of(rationale.get().text()), Optional.of(new Provenance(STRATEGY, sourceId,
                            c.source().prompt().question(), Optional.empty(), c.index()))));
        }
        SynthesisReport report = new SynthesisReport(sources.size(), 0, candidates, notAPair, outOfLength,
                duplicateOfOriginal, duplicateOfKept, inconsistent, surplus, out.size());
        LOG.info("{} synthesizing: {}", STRATEGY, report);
        return new SynthesisResult(Dataset.of(STRATEGY + "-synthesized", out), report);
    }

    /**
     * The first response agreeing with a confident majority that is the written answer; empty when the vote
     * abstains, is below {@code minAgreement}, or disagrees with what was written.
     */
    private Optional<Rollout> consistentResponse(Candidate c, RolloutGroup answers) {
        VoteResult vote = labeler.label(answers.answers());
        if (vote.label().isEmpty() || vote.voteShare() < minAgreement
                || !equivalence.equivalent(equivalence.prepare(vote.label().get()), equivalence.prepare(c.answer()))) {
            return Optional.empty();
        }
        for (int r = 0; r < answers.size(); r++) {
            if (vote.rewards().get(r) > 0 && !answers.rollouts().get(r).text().isBlank()) {
                return Optional.of(answers.rollouts().get(r));
            }
        }
        return Optional.empty();
    }

    private record Candidate(Example source, String question, String answer, int index) {
    }

    /**
     * Settings of a Genixer-style pass. Required: {@link #sampler}. Defaults: {@link QaPrompts#defaults()}, 4
     * candidates per image at temperature 1.0 and up to 128 tokens, self-consistency over 8 answers at temperature
     * 0.7 up to 512 tokens with a majority of at least 0.5, {@link SynthesisFilters#defaults()} for the question,
     * one pair kept per image, {@link MajorityVoteLabeler#standard()}, {@link AnswerEquivalence#standard()}, seed 1.
     */
    public static final class Builder {
        private RolloutSampler sampler;
        private QaPrompts prompts = QaPrompts.defaults();
        private SamplingParams writing = SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).topP(1.0)
                .maxNewTokens(128).build();
        private SamplingParams answering = SamplingParams.builder().responsesPerPrompt(8).temperature(0.7).topP(1.0)
                .maxNewTokens(512).build();
        private double minAgreement = 0.5;
        private SynthesisFilters filters = SynthesisFilters.defaults();
        private PseudoLabeler labeler = MajorityVoteLabeler.standard();
        private AnswerEquivalence equivalence = AnswerEquivalence.standard();
        private int pairsPerSource = 1;
        private long seed = 1;

        private Builder() {
        }

        /**
         * Required: the policy's sampler.
         *
         * @param sampler the new value
         * @return this builder
         */
        public Builder sampler(RolloutSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /**
         * The templates. Default {@link QaPrompts#defaults()}.
         *
         * @param prompts the new value
         * @return this builder
         */
        public Builder prompts(QaPrompts prompts) {
            this.prompts = prompts;
            return this;
        }

        /**
         * How pairs are written; {@code responsesPerPrompt} is the number of candidates per image.
         *
         * @param params the new value
         * @return this builder
         */
        public Builder writing(SamplingParams params) {
            this.writing = params;
            return this;
        }

        /**
         * Self-consistency: how the policy answers a written question, and the majority share, in [0, 1], its
         * answer must hold (as well as equal the written answer).
         *
         * @param minAgreement the new value
         * @param answering the new value
         * @return this builder
         */
        public Builder selfConsistency(double minAgreement, SamplingParams answering) {
            this.minAgreement = minAgreement;
            this.answering = answering;
            return this;
        }

        /**
         * The question's filters (their own self-consistency setting is not used: this class always checks).
         * Default {@link SynthesisFilters#defaults()}.
         *
         * @param filters the new value
         * @return this builder
         */
        public Builder filters(SynthesisFilters filters) {
            this.filters = filters;
            return this;
        }

        /**
         * Votes over the answers of the consistency check. Default {@link MajorityVoteLabeler#standard()}.
         *
         * @param labeler the new value
         * @return this builder
         */
        public Builder labeler(PseudoLabeler labeler) {
            this.labeler = labeler;
            return this;
        }

        /**
         * Compares the majority answer with the written one. Default {@link AnswerEquivalence#standard()}.
         *
         * @param equivalence the new value
         * @return this builder
         */
        public Builder equivalence(AnswerEquivalence equivalence) {
            this.equivalence = equivalence;
            return this;
        }

        /**
         * At most this many pairs kept per image, >= 1. Default 1.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder pairsPerSource(int n) {
            this.pairsPerSource = n;
            return this;
        }

        /**
         * The seed of writing and answering. Default 1.
         *
         * @param seed the new value
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** {@return the settings, checked together} */
        public QaSynthesizer build() {
            if (sampler == null || prompts == null || writing == null || answering == null || filters == null
                    || labeler == null || equivalence == null) {
                throw new IllegalStateException("QaSynthesizer needs a sampler, and prompts, writing, answering, filters, "
                        + "labeler and equivalence must not be null");
            }
            if (!(minAgreement >= 0 && minAgreement <= 1)) {
                throw new IllegalStateException("minAgreement must be in [0, 1], got " + minAgreement);
            }
            if (pairsPerSource < 1) {
                throw new IllegalStateException("pairsPerSource must be >= 1, got " + pairsPerSource);
            }
            return new QaSynthesizer(this);
        }
    }
}
