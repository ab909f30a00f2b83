package io.github.mmupt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.head.HeadShape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Any safetensors header or state.json is read or refused with an IOException; nothing else escapes. */
class CheckpointFuzzTest {

    private static final HeadShape FULL = HeadShape.full(5, 3);
    private static final String CHARS = "{}[]\":,0123456789-.eE nultrueF32dtypeshapedata_offsets_metadata";

    @Property(tries = 300)
    void safetensorsHeadersAreReadOrRefused(@ForAll("headers") String header, @ForAll("sizes") int dataBytes)
            throws Exception {
        Path f = Files.createTempFile("fuzz", ".safetensors");
        try {
            byte[] json = header.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(json.length).put(json);
            Files.write(f, b.array());
            try {
                Safetensors.read(f);
            } catch (IOException expected) {
                // refused with a message; any other exception fails the property
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Property(tries = 300)
    void stateFilesAreReadOrRefused(@ForAll("states") String state) throws Exception {
        Path dir = Files.createTempDirectory("fuzz-checkpoint");
        CheckpointStore store = new CheckpointStore(dir);
        Path saved = store.save(new Checkpoint(CheckpointHostileInputTest.state(FULL, 1, 1), new LoopState(3, 0, 1, 1),
                "m"));
        try {
            Files.writeString(saved.resolve("state.json"), state);
            try {
                store.latest("m", FULL);
            } catch (IOException expected) {
                // refused with a message naming the file
            }
        } finally {
            io.github.mmupt.storage.AtomicFiles.deleteTree(dir);
        }
    }

    @Provide
    Arbitrary<String> headers() {
        String valid = "{\"__metadata__\":{\"format\":\"x\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}";
        return mutations(valid);
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.of(0, 4, 24, 28, 32);
    }

    @Provide
    Arbitrary<String> states() throws Exception {
        String valid = new ObjectMapper().writeValueAsString(java.util.Map.of("format", CheckpointStore.FORMAT,
                "modelId", "m", "vocabSize", 5, "hiddenSize", 3, "loraRank", 0, "loraAlpha", 0.0, "optimizerStep", 1,
                "step", 3, "epoch", 0, "cursor", 1)).replace("}", ",\"seed\":1}");
        return mutations(valid);
    }

    private static Arbitrary<String> mutations(String valid) {
        Arbitrary<String> junk = Arbitraries.strings().withChars(CHARS).ofMaxLength(30);
        Arbitrary<String> replaced = Arbitraries.integers().between(0, valid.length() - 1).flatMap(at ->
                junk.map(j -> valid.substring(0, at) + j + valid.substring(Math.min(valid.length(), at + j.length()))));
        Arbitrary<String> truncated = Arbitraries.integers().between(0, valid.length()).map(n -> valid.substring(0, n));
        return Arbitraries.oneOf(replaced, truncated, junk, Arbitraries.just(valid));
    }
}
