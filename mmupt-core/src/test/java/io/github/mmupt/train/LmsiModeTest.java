package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.ForwardingGrpoOptimizer;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.vote.LabelAudit;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.PseudoLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * LMSI: it trains, with advantage 1, on exactly the responses that agree with an accepted majority, never on the
 * others or on groups below the agreement threshold, and it needs no gold answer.
 */
class LmsiModeTest {

    @Test
    void trainsOnTheMajorityAgreeingResponsesOfConfidentGroupsOnly() throws Exception {
        for (double threshold : new double[] {0.0, 0.7}) {
            List<VoteResult> votes = new ArrayList<>();
            PseudoLabeler inner = MajorityVoteLabeler.builder().minAgreement(threshold).build();
            PseudoLabeler spy = new PseudoLabeler() {
                @Override
                public VoteResult label(List<Optional<String>> answers) {
                    VoteResult v = inner.label(answers);
                    votes.add(v);
                    return v;
                }

                @Override
                public LabelAudit audit(VoteResult vote, String goldAnswer) {
                    throw new AssertionError("unlabeled data: nothing to audit");
                }
            };
            try (Recording opt = new Recording(FakeModels.optimizer())) {
                RunResult r = MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt)
                        .sampler(FakeModels.sampler()).sampling(FakeModels.sampling()).labeler(spy).data(unlabeled(8))
                        .mode(TrainingMode.LMSI).promptsPerStep(4).steps(2).build().run();
                long expected = 0;
                List<Integer> majorityFirstTokens = new ArrayList<>();
                for (VoteResult v : votes) {
                    if (v.label().isPresent()) {
                        expected += java.util.Arrays.stream(v.rewards().toArray()).filter(x -> x > 0).count();
                        majorityFirstTokens.add(1 + Integer.parseInt(v.label().get()));
                    }
                }
                assertThat(votes).hasSize(8);
                if (threshold > 0) {
                    assertThat(votes).as("some groups fall below the threshold").anyMatch(v -> v.label().isEmpty());
                }
                assertThat(opt.sequences).as("threshold %s", threshold).isEqualTo(expected).isPositive();
                assertThat(opt.advantages).as("the SFT gradient: advantage 1").containsOnly(1.0);
                assertThat(opt.firstTokens).as("only majority answers").allMatch(majorityFirstTokens::contains);
                assertThat(r.steps()).allSatisfy(s -> assertThat(s.updates()).isNotEmpty());
            }
        }
    }

    private static Dataset unlabeled(int n) {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            examples.add(Example.unlabeled(new Prompt("p" + i, List.of(), "question " + "x".repeat(i))));
        }
        return Dataset.of("u", examples);
    }

    /** The optimizer, recording the sequences it is given to train on (two-token responses: digit, end). */
    private static final class Recording extends ForwardingGrpoOptimizer {
        long sequences;
        final List<Double> advantages = new ArrayList<>();
        final List<Integer> firstTokens = new ArrayList<>();

        Recording(GrpoOptimizer inner) {
            super(inner);
        }

        @Override
        public LossMetrics accumulate(LossBatch batch) {
            ImmutableIntArray t = batch.targets();
            for (int i = 0; i < t.length(); i += 2) {
                sequences++;
                firstTokens.add(t.get(i));
                advantages.add(batch.advantages().get(i));
            }
            return super.accumulate(batch);
        }
    }
}
