package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.judge.ResponseJudge;
import io.github.mmupt.judge.SamplerJudge;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * SRLM and the vote-judge blend: the rewards trained on are the judge's scores (blended with the vote by the
 * documented weight), the judge sees the sampled groups and never a gold answer, and the settings refuse what
 * cannot work.
 */
class SrlmModeTest {

    private static final String GOLD = "GOLD-ANSWER-42";

    /** Scores a response by its digit (d / 9), except digit 0, which it cannot judge; records what it saw. */
    private static final class DigitJudge implements ResponseJudge {
        final List<List<RolloutGroup>> calls = new ArrayList<>();
        final List<Long> seeds = new ArrayList<>();

        @Override
        public List<List<OptionalDouble>> judge(List<RolloutGroup> groups, long seed) {
            calls.add(groups);
            seeds.add(seed);
            List<List<OptionalDouble>> out = new ArrayList<>();
            for (RolloutGroup g : groups) {
                out.add(g.rollouts().stream().map(r -> r.text().equals("0") ? OptionalDouble.empty()
                        : OptionalDouble.of(Integer.parseInt(r.text()) / 9.0)).toList());
            }
            return out;
        }
    }

    private static Dataset labelled(int n) {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            examples.add(new Example(new Prompt("p" + i, List.of(), "question " + "x".repeat(i)), Optional.of(GOLD),
                    Optional.of(GOLD + " response")));
        }
        return Dataset.of("d", examples);
    }

    private static MmUpt.Builder run(TrainingMode mode, JudgeReward judge) {
        return MmUpt.builder().policy(FakeModels.policy("m")).optimizer(FakeModels.optimizer()).sampler(FakeModels.sampler())
                .sampling(FakeModels.sampling()).data(labelled(8)).mode(mode).promptsPerStep(4).steps(2).judge(judge);
    }

    @Test
    void srlmTrainsOnTheJudgesScoresAndTheJudgeNeverSeesAGoldAnswer() throws Exception {
        DigitJudge judge = new DigitJudge();
        RunResult r = run(TrainingMode.SRLM, JudgeReward.only(judge)).build().run();
        assertThat(judge.calls).hasSize(2);
        assertThat(judge.seeds).doesNotHaveDuplicates();
        for (int s = 0; s < 2; s++) {
            double sum = 0;
            int n = 0;
            int scored = 0;
            for (RolloutGroup g : judge.calls.get(s)) {
                assertThat(g.prompt().question()).doesNotContain(GOLD);
                for (Rollout rollout : g.rollouts()) {
                    assertThat(rollout.text()).doesNotContain(GOLD);
                    int digit = Integer.parseInt(rollout.text());
                    sum += digit == 0 ? 0 : digit / 9.0;
                    scored += digit == 0 ? 0 : 1;
                    n++;
                }
            }
            StepStats step = r.steps().get(s);
            assertThat(step.rewardMean()).as("step %d: the judge's scores, unreadable = 0", s).isCloseTo(sum / n, within(1e-12));
            assertThat(step.judge()).isPresent();
            assertThat(step.judge().get().responses()).isEqualTo(n);
            assertThat(step.judge().get().scored()).isEqualTo(scored);
            assertThat(step.judge().get().meanScore()).isCloseTo(sum / scored, within(1e-12));
            java.util.Map<String, Object> metrics = MetricsFile.toMap(step);
            assertThat((Double) metrics.get("judge_scored_share")).isCloseTo((double) scored / n, within(1e-12));
            assertThat(step.votes().prompts()).as("the vote is still taken, for monitoring").isEqualTo(4);
        }
        assertThat(r.steps()).anySatisfy(s -> assertThat(s.updates()).isNotEmpty());
    }

    @Test
    void aUptRunWithAJudgeBlendsVoteAndJudgeByTheWeight() throws Exception {
        DigitJudge judge = new DigitJudge();
        RunResult r = run(TrainingMode.UPT, new JudgeReward(judge, 0.25)).steps(1).build().run();
        MajorityVoteLabeler labeler = MajorityVoteLabeler.standard();
        double sum = 0;
        int n = 0;
        for (RolloutGroup g : judge.calls.get(0)) {
            ImmutableDoubleArray vote = labeler.label(g.answers()).rewards();
            for (int i = 0; i < g.size(); i++) {
                int digit = Integer.parseInt(g.rollouts().get(i).text());
                sum += 0.75 * vote.get(i) + 0.25 * (digit == 0 ? 0 : digit / 9.0);
                n++;
            }
        }
        assertThat(r.steps().get(0).rewardMean()).isCloseTo(sum / n, within(1e-12));
    }

    @Test
    void theSamplerJudgeReadsEachJudgmentAndAveragesTheReadableOnes() {
        // judgments per judging prompt: "Score: <digit of the response>" then garbage; digit 0 -> both garbage
        List<Prompt> seen = new ArrayList<>();
        RolloutSampler judgeSampler = (prompts, params, seed) -> {
            seen.addAll(prompts);
            List<RolloutGroup> out = new ArrayList<>();
            for (Prompt p : prompts) {
                String response = p.question().replaceAll("(?s).*Response: (\\S+).*", "$1");
                String first = response.equals("0") ? "no idea" : "Score: " + Math.min(5, Math.max(1, Integer.parseInt(response)));
                out.add(new RolloutGroup(p, ImmutableList.of(judgment(first), judgment("Score: 5 or Score: 1"))));
            }
            return out;
        };
        SamplerJudge judge = SamplerJudge.builder().sampler(judgeSampler)
                .judging(SamplingParams.builder().responsesPerPrompt(2).temperature(0.2).topP(1.0).maxNewTokens(8).build())
                .build();
        RolloutGroup group = new RolloutGroup(new Prompt("q", List.of(), "What is 1+2?"),
                ImmutableList.of(response("3"), response("0"), response("9")));
        List<List<OptionalDouble>> scores = judge.judge(List.of(group), 5);
        assertThat(scores).hasSize(1);
        assertThat(scores.get(0)).containsExactly(OptionalDouble.of(0.5), OptionalDouble.empty(), OptionalDouble.of(1.0));
        assertThat(seen).hasSize(3).allSatisfy(p -> assertThat(p.question()).contains("Question: What is 1+2?"));
        assertThat(seen.get(0).id()).isEqualTo("q#judge-0");
    }

    @Test
    void refusesJudgeSettingsThatCannotWork() {
        DigitJudge judge = new DigitJudge();
        assertThatThrownBy(() -> run(TrainingMode.SRLM, null).build()).hasMessageContaining("SRLM rewards come from a judge");
        assertThatThrownBy(() -> run(TrainingMode.SRLM, new JudgeReward(judge, 0.5)).build())
                .hasMessageContaining("weight 1").hasMessageContaining("UPT");
        assertThatThrownBy(() -> run(TrainingMode.LMSI, JudgeReward.only(judge)).build())
                .hasMessageContaining("LMSI does not use a judge");
        assertThatThrownBy(() -> new JudgeReward(judge, 0)).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> JudgeReward.only(judge).blend(ImmutableDoubleArray.of(1, 0), List.of(OptionalDouble.of(2))))
                .hasMessageContaining("scored 1 responses of a group of 2");
        assertThatThrownBy(() -> JudgeReward.only(judge).blend(ImmutableDoubleArray.of(1), List.of(OptionalDouble.of(2))))
                .hasMessageContaining("[0, 1]");
    }

    private static Rollout judgment(String text) {
        return new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(), text, Optional.empty(), FinishReason.STOP);
    }

    private static Rollout response(String text) {
        return new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(), text, Optional.of(text), FinishReason.STOP);
    }
}
