package io.github.mmupt.synth;

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
 * Has the policy write new questions about the images of existing examples (in-context or direct
 * synthesizing), filters them, and returns them as an unlabeled {@link Dataset} with provenance, ready for an
 * MM-UPT run or for {@code JsonlDataset.write}.
 *
 * <pre>{@code
 * SynthesisResult r = QuestionSynthesizer.builder()
 *         .sampler(sampler).strategy(SynthesisStrategy.DIRECT)
 *         .writing(SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).maxNewTokens(64).build())
 *         .seed(7).build()
 *         .synthesize(unlabeled.examples());
 * JsonlDataset.write(Path.of("data/direct.jsonl"), r.dataset().examples());
 * }</pre>
 *
 * <p>Ahead of a run, synthesize once and train on the file. On the fly, call {@link #synthesize} with the sampler
 * of the head being trained between runs (the optimizer carries over from one {@code MmUpt} run to the next), so
 * each round's questions come from the improved policy.
 *
 * <p>Deterministic: the same seed, sampler and inputs give the same questions. The answers shown in in-context
 * synthesizing and the self-consistency votes come from the policy ({@link AnswerSource#MAJORITY_VOTE}); gold
 * answers are used only when asked for ({@link AnswerSource#GOLD}). Not thread-safe; the caller owns the sampler.
 */
public final class QuestionSynthesizer {

    private static final Logger LOG = LoggerFactory.getLogger(QuestionSynthesizer.class);

    private final RolloutSampler sampler;
    private final SynthesisStrategy strategy;
    private final SynthesisPrompts prompts;
    private final SamplingParams writing;
    private final SamplingParams answering;
    private final int questionsPerSource;
    private final SynthesisFilters filters;
    private final AnswerSource answerSource;
    private final PseudoLabeler labeler;
    private final long seed;

    private QuestionSynthesizer(Builder b) {
        this.sampler = b.sampler;
        this.strategy = b.strategy;
        this.prompts = b.prompts;
        this.writing = b.writing;
        this.answering = b.answering;
        this.questionsPerSource = b.questionsPerSource;
        this.filters = b.filters;
        this.answerSource = b.answerSource;
        this.labeler = b.labeler;
        this.seed = b.seed;
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Writes, filters and returns new questions about the images of {@code sources}.
     *
     * @param sources the examples whose images the new questions are about
     * @return the kept questions as a dataset, and what each filter removed
     */
    public SynthesisResult synthesize(List<Example> sources) {
        List<Optional<String>> answers = answersToShow(sources);
        List<Example> writable = new ArrayList<>();
        List<Optional<String>> shown = new ArrayList<>();
        List<Prompt> writerPrompts = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            if (strategy == SynthesisStrategy.IN_CONTEXT && answers.get(i).isEmpty()) {
                continue;
            }
            Example source = sources.get(i);
            writable.add(source);
            shown.add(answers.get(i));
            writerPrompts.add(prompts.writerPrompt(strategy, source, answers.get(i), source.prompt().id() + "#write"));
        }
        List<RolloutGroup> written = writerPrompts.isEmpty() ? List.of() : sampler.sample(writerPrompts, writing, seed);
        if (written.size() != writerPrompts.size()) {
            throw new IllegalStateException("the sampler returned " + written.size() + " groups for " + writerPrompts.size()
                    + " prompts");
        }

        Counts c = new Counts();
        List<Candidate> passed = new ArrayList<>();
        List<String> keptTexts = new ArrayList<>();
        for (int s = 0; s < writable.size(); s++) {
            Example source = writable.get(s);
            String original = SynthesisPrompts.questionText(source.prompt());
            List<String> keptHere = new ArrayList<>();
            List<Rollout> rollouts = written.get(s).rollouts();
            for (int k = 0; k < rollouts.size(); k++) {
                c.candidates++;
                String text = rollouts.get(k).text().strip();
                int words = SynthesisFilters.wordCount(text);
                if (!filters.questionCheck().test(text)) {
                    c.notAQuestion++;
                    LOG.debug("{}: not a question: {}", source.prompt().id(), text);
                } else if (words < filters.minWords() || words > filters.maxWords()) {
                    c.outOfLength++;
                    LOG.debug("{}: {} words: {}", source.prompt().id(), words, text);
                } else if (SynthesisFilters.similarity(text, original) >= filters.maxSimilarity()) {
                    c.duplicateOfOriginal++;
                    LOG.debug("{}: duplicate of the original: {}", source.prompt().id(), text);
                } else if (filters.nearDuplicate(text, filters.duplicatesAcrossImages() ? keptTexts : keptHere)) {
                    c.duplicateOfKept++;
                    LOG.debug("{}: duplicate: {}", source.prompt().id(), text);
                } else {
                    keptHere.add(text);
                    keptTexts.add(text);
                    passed.add(new Candidate(source, shown.get(s), text, k));
                }
            }
        }

        List<Boolean> consistent = consistency(passed);
        List<Example> out = new ArrayList<>();
        String lastSource = null;
        int quota = 0;
        for (int i = 0; i < passed.size(); i++) {
            Candidate cand = passed.get(i);
            if (!consistent.get(i)) {
                c.inconsistent++;
                continue;
            }
            String sourceId = cand.source().prompt().id();
            if (!sourceId.equals(lastSource)) {
                lastSource = sourceId;
                quota = 0;
            }
            if (quota == questionsPerSource) {
                c.surplus++;
                continue;
            }
            quota++;
            String id = sourceId + "#" + strategy.label() + "-" + cand.index();
            out.add(new Example(prompts.newQuestion(cand.source(), cand.text(), id), Optional.empty(), Optional.empty(),
                    Optional.of(new Provenance(strategy.label(), sourceId, cand.source().prompt().question(), cand.answer(),
                            cand.index()))));
        }
        SynthesisReport report = new SynthesisReport(sources.size(), sources.size() - writable.size(), c.candidates,
                c.notAQuestion, c.outOfLength, c.duplicateOfOriginal, c.duplicateOfKept, c.inconsistent, c.surplus, out.size());
        LOG.info("{} synthesizing: {}", strategy.label(), report);
        return new SynthesisResult(Dataset.of(strategy.label() + "-synthesized", out), report);
    }

    private record Candidate(Example source, Optional<String> answer, String text, int index) {
    }

    private static final class Counts {
        int candidates;
        int notAQuestion;
        int outOfLength;
        int duplicateOfOriginal;
        int duplicateOfKept;
        int inconsistent;
        int surplus;
    }

    /** The answer shown with each source in in-context synthesizing (empty for direct, or when the vote abstains). */
    private List<Optional<String>> answersToShow(List<Example> sources) {
        List<Optional<String>> out = new ArrayList<>();
        if (strategy == SynthesisStrategy.DIRECT) {
            sources.forEach(s -> out.add(Optional.empty()));
            return out;
        }
        if (answerSource == AnswerSource.GOLD) {
            for (Example s : sources) {
                out.add(Optional.of(s.goldAnswer().orElseThrow(() -> new IllegalArgumentException("in-context synthesizing "
                        + "with AnswerSource.GOLD needs a gold answer; example " + s.prompt().id() + " has none"))));
            }
            return out;
        }
        List<RolloutGroup> groups = sources.isEmpty() ? List.of()
                : sampler.sample(sources.stream().map(Example::prompt).toList(), answering,
                        Seeds.synthesisAnswers(seed));
        for (RolloutGroup g : groups) {
            out.add(labeler.label(g.answers()).label());
        }
        return out;
    }

    /** Whether each candidate passes self-consistency (all pass when the check is off). */
    private List<Boolean> consistency(List<Candidate> candidates) {
        List<Boolean> out = new ArrayList<>();
        if (!filters.checksConsistency() || candidates.isEmpty()) {
            candidates.forEach(c -> out.add(true));
            return out;
        }
        List<Prompt> questions = new ArrayList<>();
        for (Candidate c : candidates) {
            questions.add(prompts.newQuestion(c.source(), c.text(), c.source().prompt().id() + "#check-" + c.index()));
        }
        List<RolloutGroup> groups = sampler.sample(questions, filters.consistency().orElseThrow(),
                Seeds.synthesisConsistency(seed));
        for (RolloutGroup g : groups) {
            VoteResult v = labeler.label(g.answers());
            out.add(v.label().isPresent() && v.voteShare() >= filters.minAgreement());
        }
        return out;
    }

    /**
     * Settings of a synthesis pass. Required: {@link #sampler} and {@link #strategy}. Defaults: the documented
     * {@link SynthesisPrompts#defaults()} templates, 4 candidates per source at temperature 1.0 and up to 128
     * tokens, one question kept per source, {@link SynthesisFilters#defaults()}, answers from the policy's
     * majority vote over 8 samples at temperature 0.7, seed 1.
     */
    public static final class Builder {
        private RolloutSampler sampler;
        private SynthesisStrategy strategy;
        private SynthesisPrompts prompts = SynthesisPrompts.defaults();
        private SamplingParams writing = SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).topP(1.0)
                .maxNewTokens(128).build();
        private SamplingParams answering = SamplingParams.builder().responsesPerPrompt(8).temperature(0.7).topP(1.0)
                .maxNewTokens(512).build();
        private int questionsPerSource = 1;
        private SynthesisFilters filters = SynthesisFilters.defaults();
        private AnswerSource answerSource = AnswerSource.MAJORITY_VOTE;
        private PseudoLabeler labeler = MajorityVoteLabeler.standard();
        private long seed = 1;

        private Builder() {
        }

        /**
         * Required: the policy's sampler (with the head whose questions you want).
         *
         * @param sampler the new value
         * @return this builder
         */
        public Builder sampler(RolloutSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /**
         * Required: in-context or direct.
         *
         * @param strategy the new value
         * @return this builder
         */
        public Builder strategy(SynthesisStrategy strategy) {
            this.strategy = strategy;
            return this;
        }

        /**
         * Sets prompts; see the class description for its range and default.
         *
         * @param prompts the new value
         * @return this builder
         */
        public Builder prompts(SynthesisPrompts prompts) {
            this.prompts = prompts;
            return this;
        }

        /**
         * How questions are written; {@code responsesPerPrompt} is the number of candidates per source.
         *
         * @param params the new value
         * @return this builder
         */
        public Builder writing(SamplingParams params) {
            this.writing = params;
            return this;
        }

        /**
         * How the policy answers, for the in-context answer ({@link AnswerSource#MAJORITY_VOTE}).
         *
         * @param params the new value
         * @return this builder
         */
        public Builder answering(SamplingParams params) {
            this.answering = params;
            return this;
        }

        /**
         * At most this many questions kept per source, >= 1. Default 1.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder questionsPerSource(int n) {
            this.questionsPerSource = n;
            return this;
        }

        /**
         * Sets filters; see the class description for its range and default.
         *
         * @param filters the new value
         * @return this builder
         */
        public Builder filters(SynthesisFilters filters) {
            this.filters = filters;
            return this;
        }

        /**
         * Sets answerSource; see the class description for its range and default.
         *
         * @param source the new value
         * @return this builder
         */
        public Builder answerSource(AnswerSource source) {
            this.answerSource = source;
            return this;
        }

        /**
         * Votes for the in-context answer and for self-consistency. Default {@link MajorityVoteLabeler#standard()}.
         *
         * @param labeler the new value
         * @return this builder
         */
        public Builder labeler(PseudoLabeler labeler) {
            this.labeler = labeler;
            return this;
        }

        /**
         * Sets seed; see the class description for its range and default.
         *
         * @param seed the new value
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** {@return the settings, checked together} */
        public QuestionSynthesizer build() {
            if (sampler == null || strategy == null) {
                throw new IllegalStateException("QuestionSynthesizer needs " + (sampler == null ? "a sampler" : "")
                        + (sampler == null && strategy == null ? " and " : "") + (strategy == null ? "a strategy" : ""));
            }
            if (prompts == null || writing == null || answering == null || filters == null || answerSource == null
                    || labeler == null) {
                throw new IllegalStateException("prompts, writing, answering, filters, answerSource and labeler must not be null");
            }
            if (questionsPerSource < 1) {
                throw new IllegalStateException("questionsPerSource must be >= 1, got " + questionsPerSource);
            }
            return new QuestionSynthesizer(this);
        }
    }
}
