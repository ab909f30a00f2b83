package io.github.mmupt.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.head.HeadShape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {

    private static final HeadShape FULL = HeadShape.full(5, 3);
    private static final HeadShape LORA = HeadShape.lora(5, 3, 2, 4.0);

    @TempDir
    Path dir;

    private static OptimizerState state(HeadShape shape, long step, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : OptimizerState.expectedNames(shape)) {
            float[] v = new float[(int) OptimizerState.elements(shape, name)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rng.nextGaussian();
                if (name.startsWith("adam_v.")) {
                    v[i] = Math.abs(v[i]); // second moments are never negative: the store refuses such a state
                }
            }
            t.put(name, v);
        }
        return new OptimizerState(shape, step, t);
    }

    @Test
    void saveThenLatestGivesTheSameCheckpoint() throws Exception {
        for (HeadShape shape : new HeadShape[] {FULL, LORA}) {
            CheckpointStore store = new CheckpointStore(dir.resolve(shape.isLora() ? "lora" : "full"));
            Checkpoint c = new Checkpoint(state(shape, 7, 1), new LoopState(12, 1, 5, 99), "model-a");
            Path written = store.save(c);
            assertThat(written.getFileName().toString()).isEqualTo("step-00000012");
            assertThat(store.latest("model-a", shape)).hasValue(c);
        }
    }

    @Test
    void latestIsTheHighestStepAndNoTemporaryIsLeft() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        for (long step : new long[] {2, 10, 4}) {
            store.save(new Checkpoint(state(FULL, step, step), new LoopState(step, 0, (int) step, 1), "m"));
        }
        assertThat(store.latest("m", FULL).orElseThrow().loop().step()).isEqualTo(10);
        try (var list = Files.list(dir)) {
            assertThat(list.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("step-00000002",
                    "step-00000004", "step-00000010");
        }
    }

    @Test
    void anEmptyOrMissingDirectoryHasNoCheckpoint() throws Exception {
        assertThat(new CheckpointStore(dir.resolve("none")).latest("m", FULL)).isEmpty();
        assertThat(new CheckpointStore(dir).latest("m", FULL)).isEmpty();
    }

    @Test
    void aCheckpointOfAnotherModelOrHeadIsRefused() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        store.save(new Checkpoint(state(FULL, 1, 1), new LoopState(3, 0, 0, 1), "model-a"));
        assertThatThrownBy(() -> store.latest("model-b", FULL))
                .hasMessageContaining("made for model model-a").hasMessageContaining("model-b").hasMessageContaining("refusing");
        assertThatThrownBy(() -> store.latest("model-a", HeadShape.full(6, 3)))
                .hasMessageContaining("holds a head").hasMessageContaining("refusing");
        assertThatThrownBy(() -> store.latest("model-a", LORA)).hasMessageContaining("holds a head");
    }

    @Test
    void anIncompleteCheckpointIsReportedNotGuessed() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        Path written = store.save(new Checkpoint(state(FULL, 1, 1), new LoopState(3, 0, 0, 1), "m"));
        Files.delete(written.resolve("state.json"));
        assertThatThrownBy(() -> store.latest("m", FULL)).hasMessageContaining("not a complete checkpoint");
    }

    @Test
    void overwritingAStepReplacesIt() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        store.save(new Checkpoint(state(FULL, 1, 1), new LoopState(3, 0, 0, 1), "m"));
        Checkpoint second = new Checkpoint(state(FULL, 2, 2), new LoopState(3, 0, 1, 1), "m");
        store.save(second);
        assertThat(store.latest("m", FULL)).hasValue(second);
    }

    @Test
    void adaptersAndTheirMomentsRoundTripAndAMissingOrCorruptAdapterFileIsRefused() throws Exception {
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("model.layers.0.q_proj.lora_A.weight", new float[] {0.5f, -1.25f});
        t.put("adam_m.model.layers.0.q_proj.lora_A.weight", new float[] {1e-3f, 2e-3f});
        t.put("adam_v.model.layers.0.q_proj.lora_A.weight", new float[] {1e-6f, 0f});
        io.github.mmupt.adapter.AdapterState adapters = new io.github.mmupt.adapter.AdapterState(4, "LoRA rank 1, alpha 32.0", t);
        CheckpointStore store = new CheckpointStore(dir.resolve("lora-trunk"));
        Checkpoint c = new Checkpoint(state(FULL, 4, 1), new LoopState(4, 0, 2, 9), "m", java.util.Optional.of(adapters));
        Path written = store.save(c);
        assertThat(store.latest("m", FULL)).hasValue(c);
        assertThat(new CheckpointStore(dir.resolve("frozen")).save(new Checkpoint(state(FULL, 1, 1),
                new LoopState(1, 0, 0, 9), "m"))).satisfies(p -> assertThat(p.resolve("adapters.safetensors")).doesNotExist());

        Path file = written.resolve("adapters.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        // the last value (a second moment) becomes NaN: 0x7fc00000 little-endian
        bytes[bytes.length - 4] = 0;
        bytes[bytes.length - 3] = 0;
        bytes[bytes.length - 2] = (byte) 0xc0;
        bytes[bytes.length - 1] = 0x7f;
        Files.write(file, bytes);
        assertThatThrownBy(() -> store.latest("m", FULL)).hasMessageContaining("adapters.safetensors is corrupt")
                .hasMessageContaining("adam_v.model.layers.0.q_proj.lora_A.weight[1] is NaN");
        Files.delete(file);
        assertThatThrownBy(() -> store.latest("m", FULL)).hasMessageContaining("records adapters")
                .hasMessageContaining("is missing");
    }
}
