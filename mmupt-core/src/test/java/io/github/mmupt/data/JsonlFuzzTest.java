package io.github.mmupt.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Any bytes on a line are either an example or one skipped line, never another exception. */
class JsonlFuzzTest {

    private static final String VALID = "{\"id\": \"q1\", \"problem\": \"<image> how many ?\", \"images\": [\"ok.png\"], "
            + "\"answer\": \"3\", \"synthesis\": {\"strategy\": \"direct\", \"source_id\": \"s\", \"source_question\": \"q\"}}";

    @Property(tries = 300)
    void everyLineIsAnExampleOrASkippedLine(@ForAll("lines") List<byte[]> lines) throws Exception {
        Path dir = Files.createTempDirectory("jsonl-fuzz");
        try {
            var png = new java.io.ByteArrayOutputStream();
            javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(2, 2, java.awt.image.BufferedImage.TYPE_INT_RGB),
                    "png", png);
            Files.write(dir.resolve("ok.png"), png.toByteArray());
            var content = new java.io.ByteArrayOutputStream();
            for (byte[] line : lines) {
                content.write(line);
                content.write('\n');
            }
            Path file = dir.resolve("data.jsonl");
            Files.write(file, content.toByteArray());
            Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(file);
            assertThat(d.size() + d.skipped().size()).isLessThanOrEqualTo(lines.size());
            assertThat(d.skipped()).allSatisfy(m -> assertThat(m).startsWith(file.toString() + ":"));
            try {
                JsonlDataset.reader().read(file);
            } catch (DatasetException expected) {
                // FAIL names the first bad line; any other exception type fails the property
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Provide
    Arbitrary<List<byte[]>> lines() {
        byte[] valid = VALID.getBytes(StandardCharsets.UTF_8);
        Arbitrary<byte[]> junk = Arbitraries.bytes().array(byte[].class).ofMaxSize(40);
        Arbitrary<byte[]> jsonish = Arbitraries.strings().withChars("{}[]\":,0123456789-. nultrueab\\<>/\u0000\u00e9")
                .ofMaxLength(50).map(s -> s.getBytes(StandardCharsets.UTF_8));
        Arbitrary<byte[]> mutated = Arbitraries.integers().between(0, valid.length - 1).flatMap(at ->
                Arbitraries.oneOf(junk, jsonish).map(j -> {
                    byte[] out = valid.clone();
                    for (int i = 0; i < j.length && at + i < out.length; i++) {
                        out[at + i] = j[i] == '\n' ? (byte) ' ' : j[i];
                    }
                    return out;
                }));
        Arbitrary<byte[]> cleanJunk = Arbitraries.oneOf(junk, jsonish).map(b -> {
            byte[] out = b.clone();
            for (int i = 0; i < out.length; i++) {
                if (out[i] == '\n') {
                    out[i] = ' ';
                }
            }
            return out;
        });
        return Arbitraries.oneOf(mutated, cleanJunk, Arbitraries.just(valid)).list().ofMaxSize(6);
    }
}
