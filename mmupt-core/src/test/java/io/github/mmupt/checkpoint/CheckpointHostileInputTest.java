package io.github.mmupt.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.head.HeadShape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints that are corrupt, misplaced, incomplete or hand-edited: refused with the file named, or skipped. */
class CheckpointHostileInputTest {

    private static final HeadShape FULL = HeadShape.full(5, 3);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static OptimizerState state(HeadShape shape, long step, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : OptimizerState.expectedNames(shape)) {
            float[] v = new float[(int) OptimizerState.elements(shape, name)];
            for (int i = 0; i < v.length; i++) {
                v[i] = name.startsWith("adam_v.") ? (float) rng.nextDouble() : (float) rng.nextGaussian();
            }
            t.put(name, v);
        }
        return new OptimizerState(shape, step, t);
    }

    private Path saved(CheckpointStore store, long step) throws IOException {
        return store.save(new Checkpoint(state(FULL, step, step), new LoopState(step, 0, (int) step, 1), "m"));
    }

    /** Rewrites one value of one tensor of a saved head file. */
    private static void poke(Path headFile, String tensor, int element, float value) throws IOException {
        Safetensors.Contents c = Safetensors.read(headFile);
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>(c.tensors());
        float[] v = t.get(tensor).values().clone();
        v[element] = value;
        t.put(tensor, new Safetensors.Tensor(t.get(tensor).shape(), v));
        Safetensors.write(headFile, t, c.metadata());
    }

    @Test
    void negativeSecondMomentsAndNonFiniteValuesAreRefusedOnLoadNamingFileAndTensor() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        Path c = saved(store, 3);
        poke(c.resolve("head.safetensors"), "adam_v.weight", 4, -0.5f);
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("head.safetensors").hasMessageContaining("adam_v.weight")
                .hasMessageContaining("negative").hasMessageContaining("element 4");
        poke(c.resolve("head.safetensors"), "adam_v.weight", 4, 0.5f);
        poke(c.resolve("head.safetensors"), "weight", 2, Float.NaN);
        assertThatThrownBy(() -> store.latest("m", FULL)).hasMessageContaining("head.safetensors")
                .hasMessageContaining("tensor weight holds NaN at element 2");
    }

    @Test
    void aNonFiniteStateIsNeverWritten() throws Exception {
        OptimizerState good = state(FULL, 1, 1);
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : good.names()) {
            t.put(name, good.tensor(name));
        }
        t.get("adam_m.weight")[0] = Float.POSITIVE_INFINITY;
        CheckpointStore store = new CheckpointStore(dir);
        Checkpoint poisoned = new Checkpoint(new OptimizerState(FULL, 1, t), new LoopState(4, 0, 0, 1), "m");
        assertThatThrownBy(() -> store.save(poisoned)).isInstanceOf(IOException.class)
                .hasMessageContaining("refusing to write the checkpoint of step 4")
                .hasMessageContaining("adam_m.weight holds Infinity");
        try (var list = Files.list(dir)) {
            assertThat(list.toList()).isEmpty();
        }
    }

    @Test
    void stateFieldsThatAreMissingOrMistypedAreNamed() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        Path c = saved(store, 3);
        Path stateFile = c.resolve("state.json");
        ObjectNode original = (ObjectNode) JSON.readTree(stateFile.toFile());

        ObjectNode missing = original.deepCopy();
        missing.remove("cursor");
        Files.writeString(stateFile, missing.toString());
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("state.json").hasMessageContaining("field \"cursor\" is missing");

        ObjectNode mistyped = original.deepCopy();
        mistyped.put("vocabSize", "five");
        Files.writeString(stateFile, mistyped.toString());
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("field \"vocabSize\" must be an integer").hasMessageContaining("\"five\"");

        ObjectNode fractional = original.deepCopy();
        fractional.put("step", 3.5);
        Files.writeString(stateFile, fractional.toString());
        assertThatThrownBy(() -> store.latest("m", FULL)).hasMessageContaining("field \"step\" must be an integer");

        ObjectNode negative = original.deepCopy();
        negative.put("epoch", -1);
        Files.writeString(stateFile, negative.toString());
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("state.json").hasMessageContaining("epoch -1");

        Files.writeString(stateFile, "[1, 2]");
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("must hold a JSON object");
        Files.writeString(stateFile, "{\"format\": ");
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("state.json is not valid JSON");
    }

    @Test
    void onlyCanonicalDirectoryNamesCountAndTheyAreOrderedByStep() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        saved(store, 2);
        Path three = saved(store, 3);
        // a hand-made backup sorts after step-00000003 as text; it must not be taken
        copyTree(three, dir.resolve("step-00000003-backup"));
        copyTree(three, dir.resolve("step-x"));
        assertThat(store.latest("m", FULL).orElseThrow().loop().step()).isEqualTo(3);
        // a step beyond eight digits still orders by number, not by text
        saved(store, 123_456_789L);
        assertThat(store.latest("m", FULL).orElseThrow().loop().step()).isEqualTo(123_456_789L);
    }

    @Test
    void aStepThatDisagreesWithItsDirectoryIsRefused() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        Path one = saved(store, 1);
        Files.move(one, dir.resolve("step-00000003"));
        assertThatThrownBy(() -> store.latest("m", FULL)).isInstanceOf(IOException.class)
                .hasMessageContaining("step 1 disagrees with its directory name step-00000003");
    }

    @Test
    void anIncompleteNewestCheckpointFallsBackToTheNewestCompleteOne() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        saved(store, 2);
        Path four = saved(store, 4);
        Files.write(four.resolve("head.safetensors"), new byte[0]);
        Files.createDirectories(dir.resolve("step-00000006"));
        assertThat(store.latest("m", FULL).orElseThrow().loop().step()).isEqualTo(2);
    }

    @Test
    void staleTemporariesAreDeleted() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        saved(store, 2);
        Path stale = Files.createDirectories(dir.resolve(".tmp-step-123"));
        Files.write(stale.resolve("head.safetensors"), new byte[100]);
        assertThat(store.deleteStaleTemporaries()).isEqualTo(1);
        assertThat(stale).doesNotExist();
        assertThat(dir.resolve("step-00000002")).isDirectory();
        assertThat(new CheckpointStore(dir.resolve("absent")).deleteStaleTemporaries()).isZero();
    }

    // ------------------------------------------------------------------ safetensors headers

    private Path rawSafetensors(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path f = Files.createTempFile(dir, "raw", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    @Test
    void aShapeWhoseProductOverflowsIsRefused() throws Exception {
        Path f = rawSafetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
        assertThatThrownBy(() -> Safetensors.read(f)).isInstanceOf(IOException.class)
                .hasMessageContaining("tensor w").hasMessageContaining("overflows");
        Path g = rawSafetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536,0],\"data_offsets\":[0,4]}}", 4);
        assertThatThrownBy(() -> Safetensors.read(g)).hasMessageContaining("holds 4 bytes");
    }

    @Test
    void aShapeWithAMillionDimensionsIsRefusedQuickly() throws Exception {
        StringBuilder shape = new StringBuilder("[1");
        for (int i = 1; i < 1_000_000; i++) {
            shape.append(",1");
        }
        shape.append(']');
        Path f = rawSafetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}", 4);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("rank 1000000")
                .hasMessageContaining("at most " + Safetensors.MAX_RANK);
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds").isLessThan(5);
    }

    @Test
    void overlappingGappedOrPartialRangesAreRefused() throws Exception {
        Path overlap = rawSafetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertThatThrownBy(() -> Safetensors.read(overlap)).hasMessageContaining("overlap");
        Path gap = rawSafetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        assertThatThrownBy(() -> Safetensors.read(gap)).hasMessageContaining("unused");
        Path trailing = rawSafetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12);
        assertThatThrownBy(() -> Safetensors.read(trailing)).hasMessageContaining("cover 4 of the data section's 12");
        Path negative = rawSafetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        assertThatThrownBy(() -> Safetensors.read(negative)).hasMessageContaining("negative dimension");
        Path huge = rawSafetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4);
        assertThatThrownBy(() -> Safetensors.read(huge)).hasMessageContaining("two integer data_offsets");
        Path nullHeader = rawSafetensors("null", 0);
        assertThatThrownBy(() -> Safetensors.read(nullHeader)).isInstanceOf(IOException.class);
        Path badMeta = rawSafetensors("{\"__metadata__\":[1]}", 0);
        assertThatThrownBy(() -> Safetensors.read(badMeta)).hasMessageContaining("__metadata__ must be a map");
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var list = Files.list(from)) {
            for (Path p : list.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }
}
