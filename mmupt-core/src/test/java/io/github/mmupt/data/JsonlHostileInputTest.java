package io.github.mmupt.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.prompt.ImageCache;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Data files as an attacker or a careless exporter writes them: every failure is one skippable line. */
class JsonlHostileInputTest {

    private static final String GOOD = "{\"problem\": \"<image>How many?\", \"images\": [\"images/ok.png\"], \"answer\": \"3\"}";

    @TempDir
    Path dir;

    private static RgbImage image(int shade) {
        byte[] rgb = new byte[4 * 3 * 3];
        java.util.Arrays.fill(rgb, (byte) shade);
        return RgbImage.of(4, 3, rgb);
    }

    private static byte[] pngOf(RgbImage image) throws Exception {
        var out = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image.toBufferedImage(), "png", out);
        return out.toByteArray();
    }

    private Path file(byte[] content) throws Exception {
        Files.createDirectories(dir.resolve("images"));
        Files.write(dir.resolve("images/ok.png"), pngOf(image(10)));
        Path f = dir.resolve("data.jsonl");
        Files.write(f, content);
        return f;
    }

    private Path file(String... lines) throws Exception {
        return file((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A real decompression bomb: a valid 1-bit grey PNG of {@code side x side} pixels of zeros, a small file
     * that decodes to {@code 3 * side^2} bytes of RGB.
     */
    static byte[] bombPng(int side) throws Exception {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(png);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(side);
        h.writeInt(side);
        h.write(new byte[] {1, 0, 0, 0, 0}); // bit depth 1, greyscale, deflate, no filter, no interlace
        chunk(out, "IHDR", ihdr.toByteArray());
        Deflater deflater = new Deflater(9);
        byte[] row = new byte[1 + (side + 7) / 8];
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        for (int y = 0; y < side; y++) {
            deflater.setInput(row);
            while (!deflater.needsInput()) {
                idat.write(buffer, 0, deflater.deflate(buffer));
            }
        }
        deflater.finish();
        while (!deflater.finished()) {
            idat.write(buffer, 0, deflater.deflate(buffer));
        }
        chunk(out, "IDAT", idat.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws Exception {
        out.writeInt(data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    @Test
    void aDecompressionBombIsRefusedFromItsHeaderAndSkippedUnderSkip() throws Exception {
        byte[] bomb = bombPng(30_000);
        assertThat(bomb.length).as("a small file").isLessThan(200_000);
        Path f = file(GOOD, "{\"problem\": \"<image>big\", \"images\": [\"images/bomb.png\"]}", GOOD);
        Files.write(dir.resolve("images/bomb.png"), bomb);
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.skipped()).singleElement().asString().contains("data.jsonl:2:").contains("bomb.png")
                .contains("30000x30000").contains("over the budget of " + RgbImage.DEFAULT_MAX_PIXELS);
        assertThatThrownBy(() -> JsonlDataset.reader().read(f)).isInstanceOf(DatasetException.class)
                .hasMessageContaining("data.jsonl:2:");
        // a budget of the user's choosing applies the same way
        assertThatThrownBy(() -> JsonlDataset.reader().maxImagePixels(11).read(f))
                .hasMessageContaining("data.jsonl:1:").hasMessageContaining("4x3 = 12 pixels, over the budget of 11");
    }

    @Test
    void aNulInAnImagePathIsALineErrorNotAnEscape() throws Exception {
        Path f = file(GOOD, "{\"problem\": \"<image>x\", \"images\": [\"images/o\\u0000k.png\"]}");
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isEqualTo(1);
        assertThat(d.skipped()).singleElement().asString().contains("data.jsonl:2:").contains("not a valid path");
    }

    @Test
    void aNonUtf8ByteCostsOnlyItsLine() throws Exception {
        byte[] good = (GOOD + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] bad = "{\"problem\": \"caf\u00e9 ?\"}\n".getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        content.write(good);
        content.write(bad);
        content.write(good);
        Path f = file(content.toByteArray());
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.skipped()).singleElement().asString().contains("data.jsonl:2: not valid UTF-8");
        assertThatThrownBy(() -> JsonlDataset.reader().read(f)).hasMessageContaining("data.jsonl:2: not valid UTF-8");
    }

    @Test
    void aByteOrderMarkAndWindowsLineEndsAreFine() throws Exception {
        byte[] text = ("\uFEFF" + GOOD + "\r\n" + GOOD + "\r\n").getBytes(StandardCharsets.UTF_8);
        Dataset d = JsonlDataset.reader().read(file(text));
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.examples().get(0).goldAnswer()).contains("3");
    }

    @Test
    void trailingTextOrASecondObjectOnALineIsAnErrorNotDropped() throws Exception {
        Path f = file(GOOD + " " + GOOD, GOOD + " garbage", GOOD);
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isEqualTo(1);
        assertThat(d.skipped()).hasSize(2);
        assertThat(d.skipped().get(0)).contains("data.jsonl:1:").contains("more than one JSON value");
        assertThat(d.skipped().get(1)).contains("data.jsonl:2:");
    }

    @Test
    void fieldsOfTheWrongTypeAreNamed() throws Exception {
        Path f = file("{\"problem\": \"q ?\", \"answer\": {\"value\": 3}}", "{\"problem\": \"q ?\", \"answer\": 3}",
                "{\"problem\": \"q ?\", \"images\": [3]}", "{\"problem\": \"q ?\", \"id\": [1]}",
                "{\"problem\": \"q ?\", \"response\": true}");
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isEqualTo(1);
        assertThat(d.examples().get(0).goldAnswer()).contains("3");
        assertThat(d.skipped()).hasSize(4);
        assertThat(d.skipped().get(0)).contains("data.jsonl:1: field 'answer' must be a string or a number");
        assertThat(d.skipped().get(1)).contains("data.jsonl:3: field 'images' must hold path strings");
        assertThat(d.skipped().get(2)).contains("data.jsonl:4: field 'id' must be a string or a number");
        assertThat(d.skipped().get(3)).contains("data.jsonl:5: field 'response'");
    }

    @Test
    void imagesAreDecodedLazilyThroughABoundedCacheAndRepeatedPathsShareOneImage() throws Exception {
        StringBuilder many = new StringBuilder("{\"problem\": \"");
        StringBuilder paths = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            many.append("<image>");
            paths.append(i == 0 ? "" : ", ").append("\"images/ok.png\"");
        }
        many.append(" how many ?\", \"images\": [").append(paths).append("]}");
        Path f = file(many.toString(), GOOD);
        ImageCache cache = new ImageCache(1000);
        Dataset d = JsonlDataset.reader().imageCache(cache).read(f);
        List<RgbImage> images = new ArrayList<>(d.examples().get(0).prompt().images());
        images.addAll(d.examples().get(1).prompt().images());
        assertThat(images).hasSize(101);
        assertThat(images).allSatisfy(i -> assertThat(i).isSameAs(images.get(0)));
        assertThat(cache.decodes()).as("nothing decoded by reading").isZero();
        assertThat(images.get(0).channel(0, 0, 0)).isEqualTo(10);
        for (RgbImage i : images) {
            i.toRgbBytes();
        }
        assertThat(cache.decodes()).isEqualTo(1);
        assertThat(cache.bytes()).isEqualTo(36);
    }

    @Test
    void theCacheStaysWithinItsBudget() throws Exception {
        Files.createDirectories(dir.resolve("images"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Files.write(dir.resolve("images/" + i + ".png"), pngOf(image(i)));
            lines.add("{\"problem\": \"<image> ?\", \"images\": [\"images/" + i + ".png\"]}");
        }
        ImageCache cache = new ImageCache(100); // room for two 36-byte images
        Dataset d = JsonlDataset.reader().imageCache(cache).read(file(lines.toArray(String[]::new)));
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 10; i++) {
                assertThat(d.examples().get(i).prompt().images().get(0).channel(1, 1, 2)).isEqualTo(i);
                assertThat(cache.bytes()).isLessThanOrEqualTo(100);
            }
        }
        assertThat(cache.decodes()).isEqualTo(20);
    }

    @Test
    void imagePathsCannotLeaveTheDatasetsFolderByDefault() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.write(outside.resolve("x.png"), pngOf(image(1)));
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(data.resolve("images"));
        Files.createSymbolicLink(data.resolve("images/link.png"), outside.resolve("x.png"));
        Files.writeString(outside.resolve("secret.txt"), "not an image");
        String[] escapes = {"../outside/x.png", outside.resolve("x.png").toString(), "images/link.png",
            outside.resolve("secret.txt").toString(), outside.resolve("missing.png").toString(), "images/../../outside/x.png"};
        List<String> lines = new ArrayList<>();
        for (String e : escapes) {
            lines.add("{\"problem\": \"<image> ?\", \"images\": [\"" + e + "\"]}");
        }
        Path f = data.resolve("data.jsonl");
        Files.writeString(f, String.join("\n", lines));
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isZero();
        assertThat(d.skipped()).hasSize(escapes.length).allSatisfy(m -> assertThat(m).contains("out of the dataset's folder")
                .doesNotContain("not found").doesNotContain("not a readable image"));
        // an existing non-image and a missing file outside get the same answer: nothing tells which exists
        assertThat(d.skipped().get(3).replace("secret.txt", "X")).isEqualTo(d.skipped().get(4).replace("missing.png", "X")
                .replace("data.jsonl:5", "data.jsonl:4"));
        // a trusted file may point elsewhere
        Dataset trusted = JsonlDataset.reader().confineImages(false).onError(DataErrorPolicy.SKIP).read(f);
        assertThat(trusted.size()).isEqualTo(4);
    }

    @Test
    void writtenImageNamesStayInTheFolderAndNeverCollide() throws Exception {
        List<Example> examples = List.of(
                Example.unlabeled(new Prompt("../../escape", List.of(image(1)), "<image> a ?")),
                Example.unlabeled(new Prompt("same", List.of(image(2)), "<image> b ?")),
                Example.unlabeled(new Prompt("same", List.of(image(3)), "<image> c ?")),
                Example.unlabeled(new Prompt("/abs/path", List.of(image(4)), "<image> d ?")));
        Path f = dir.resolve("out/set.jsonl");
        JsonlDataset.write(f, examples);
        try (var walk = Files.walk(dir)) {
            assertThat(walk.filter(p -> p.toString().endsWith(".png")).toList()).hasSize(4)
                    .allSatisfy(p -> assertThat(p.getParent()).isEqualTo(dir.resolve("out/images")));
        }
        Dataset back = JsonlDataset.reader().read(f);
        for (int i = 0; i < 4; i++) {
            assertThat(back.examples().get(i).prompt().images()).isEqualTo(examples.get(i).prompt().images());
            assertThat(back.examples().get(i).prompt().id()).isEqualTo(examples.get(i).prompt().id());
        }
        assertThat(back.examples().get(0).goldAnswer()).isEqualTo(Optional.empty());
    }

    @Test
    void rewritingADatasetInPlaceOrBesideAnotherKeepsEveryPicture() throws Exception {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            examples.add(Example.unlabeled(new Prompt("x", List.of(image(10 * i + 5)), "<image> q" + i + " ?"))); // one id
        }
        Path f = dir.resolve("d/set.jsonl");
        JsonlDataset.write(f, examples);
        // read lazily, then write the examples reversed over the same file: each line's image file is replaced
        // by another example's picture while the lazily read images still point at the old files
        Dataset read = JsonlDataset.reader().imageCache(new ImageCache(0)).read(f);
        List<Example> reversed = new ArrayList<>(read.examples());
        java.util.Collections.reverse(reversed);
        JsonlDataset.write(f, reversed);
        Dataset back = JsonlDataset.reader().read(f);
        for (int i = 0; i < 4; i++) {
            assertThat(back.examples().get(i).prompt().images()).isEqualTo(examples.get(3 - i).prompt().images());
        }
        // a second dataset in the same folder has its own image files
        JsonlDataset.write(dir.resolve("d/other.jsonl"), List.of(examples.get(1)));
        assertThat(JsonlDataset.reader().read(f).examples().get(0).prompt().images())
                .isEqualTo(examples.get(3).prompt().images());
        try (var list = Files.list(dir.resolve("d/images"))) {
            assertThat(list.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("."))).isEmpty();
        }
    }
}
