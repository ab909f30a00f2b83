package io.github.mmupt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.train.FakeModels;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.RunResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resuming runs: the right checkpoint or a clear refusal, stale temporaries cleaned, metrics without repeats. */
class ResumeHostileInputTest {

    @TempDir
    Path dir;

    private static ReferenceGrpoOptimizer optimizer() {
        return new ReferenceGrpoOptimizer(ReferenceHead.full(HeadShape.full(FakeModels.V, FakeModels.D),
                new double[FakeModels.V * FakeModels.D]), GrpoLossConfig.builder().temperature(1.0).build(),
                AdamWConfig.mmUpt());
    }

    private static Dataset data() {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            examples.add(new Example(new Prompt("p" + i, List.of(), "question " + i), Optional.empty(), Optional.empty()));
        }
        return Dataset.of("d", examples);
    }

    private RunResult run(long steps, boolean resume, MetricsFile metrics) throws IOException {
        return MmUpt.builder().policy(FakeModels.policy("m")).optimizer(optimizer()).sampler(FakeModels.sampler())
                .data(data()).sampling(FakeModels.sampling()).promptsPerStep(4).steps(steps).seed(5)
                .checkpoints(dir.resolve("checkpoints"), 1).resume(resume).listener(metrics).build().run();
    }

    @Test
    void aCheckpointBeyondTheRunsStepsIsRefusedAndOneAtItsEndRunsNothingWithAMessage() throws Exception {
        run(3, false, new MetricsFile(dir.resolve("m1.jsonl")));
        assertThatThrownBy(() -> run(2, true, new MetricsFile(dir.resolve("m2.jsonl")))).isInstanceOf(IOException.class)
                .hasMessageContaining("at step 3, beyond this run's 2 steps");
        assertThat(run(3, true, new MetricsFile(dir.resolve("m3.jsonl"))).steps()).isEmpty();
    }

    @Test
    void aResumedRunLeavesNoStaleTemporariesAndNoRepeatedMetrics() throws Exception {
        Path metrics = dir.resolve("metrics.jsonl");
        run(4, false, new MetricsFile(metrics));
        // a kill after step 4's metrics line but before its checkpoint, in the middle of saving it
        Path checkpoints = dir.resolve("checkpoints");
        io.github.mmupt.storage.AtomicFiles.deleteTree(checkpoints.resolve("step-00000004"));
        io.github.mmupt.storage.AtomicFiles.deleteTree(checkpoints.resolve("step-00000003"));
        Files.createDirectories(checkpoints.resolve(".tmp-step-99"));
        Files.writeString(metrics, "{\"step\": 3, \"reward_mea", java.nio.file.StandardOpenOption.APPEND);
        run(4, true, new MetricsFile(metrics));
        try (var list = Files.list(checkpoints)) {
            assertThat(list.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp"))).isEmpty();
        }
        List<Long> steps = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            steps.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("step").longValue());
        }
        assertThat(steps).containsExactly(0L, 1L, 2L, 3L);
    }
}
