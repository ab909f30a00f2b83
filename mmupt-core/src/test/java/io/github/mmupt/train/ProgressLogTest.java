package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.vote.VoteSummary;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProgressLogTest {

    @Test
    void lineShowsProgressNumbersSkippedUpdatesAndEta() {
        StepStats s = new StepStats(2, 0.625, VoteSummary.of(List.of(), List.of()), LossMetrics.EMPTY,
                List.of(new UpdateResult(0, Double.NaN, 1, true)), 8, 5, -0.7, Map.of());
        String line = new ProgressLog("upt").line(s, 10, 0.5, Duration.ofSeconds(75));
        assertThat(line).startsWith("upt step 3/10").contains("reward 0.625").contains("SKIPPED 1 update(s)")
                .contains("0.50 s/step").endsWith("ETA 1m15s");
        assertThat(line).doesNotContain("vote").doesNotContain("label-acc").doesNotContain("nll");
        StepStats sft = new StepStats(0, Double.NaN, VoteSummary.of(List.of(), List.of()), LossMetrics.EMPTY, List.of(), 8, 5,
                -0.7, Map.of());
        assertThat(new ProgressLog("sft").line(sft, 10, 0.5, Duration.ofSeconds(5))).contains("nll 0.7000")
                .doesNotContain("loss");
    }
}
