package io.github.mmupt.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlDatasetTest {

    @TempDir
    Path dir;

    private static RgbImage image(int shade) {
        byte[] rgb = new byte[4 * 3 * 3];
        java.util.Arrays.fill(rgb, (byte) shade);
        rgb[0] = (byte) 255;
        return RgbImage.of(4, 3, rgb);
    }

    private Path file(String... lines) throws Exception {
        Files.createDirectories(dir.resolve("images"));
        Files.write(dir.resolve("images/ok.png"), pngOf(image(10)));
        Path f = dir.resolve("data.jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
        return f;
    }

    private static byte[] pngOf(RgbImage image) throws Exception {
        var out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image.toBufferedImage(), "png", out);
        return out.toByteArray();
    }

    private static final String GOOD = "{\"problem\": \"<image>How many?\", \"images\": [\"images/ok.png\"], \"answer\": \"3\"}";

    @Test
    void writeThenReadGivesTheSameExamples() throws Exception {
        List<Example> examples = List.of(
                new Example(new Prompt("a", List.of(image(40)), "<image> how many red ?"), Optional.of("2"), Optional.of("Red 2")),
                new Example(new Prompt("b", List.of(image(90), image(7)), "<image> vs <image> ?"), Optional.empty(),
                        Optional.empty()),
                Example.unlabeled(new Prompt("c", List.of(), "no image here")));
        Path f = dir.resolve("sub/set.jsonl");
        JsonlDataset.write(f, examples);
        Dataset read = JsonlDataset.reader().read(f);
        assertThat(read.examples()).isEqualTo(examples);
        assertThat(read.skipped()).isEmpty();
        // image paths are relative to the file, so the directory can move
        assertThat(Files.readString(f)).contains("\"images/set-000001-a.png\"").doesNotContain(dir.toString());
        Path moved = dir.resolve("moved");
        Files.move(dir.resolve("sub"), moved);
        assertThat(JsonlDataset.reader().read(moved.resolve("set.jsonl")).examples()).isEqualTo(examples);
    }

    @Test
    void mmUptFieldNamesAreTheDefault() throws Exception {
        Dataset d = JsonlDataset.reader().read(file(GOOD));
        Example e = d.examples().get(0);
        assertThat(e.prompt().question()).isEqualTo("<image>How many?");
        assertThat(e.prompt().images()).hasSize(1);
        assertThat(e.goldAnswer()).hasValue("3");
        assertThat(e.prompt().id()).isEqualTo("data.jsonl:1");
    }

    @Test
    void otherFieldNamesCanBeConfigured() throws Exception {
        Path f = file("{\"q\": \"<image>How many?\", \"pics\": [\"images/ok.png\"], \"gt\": \"4\"}");
        Example e = JsonlDataset.reader().fields("q", "gt", "pics").read(f).examples().get(0);
        assertThat(e.goldAnswer()).hasValue("4");
        assertThat(e.prompt().images()).hasSize(1);
    }

    @Test
    void aMalformedLineFailsNamingFileAndLine() throws Exception {
        Path f = file(GOOD, "", "{\"problem\": \"unterminated", GOOD);
        assertThatThrownBy(() -> JsonlDataset.reader().read(f))
                .isInstanceOf(DatasetException.class)
                .hasMessageStartingWith(f + ":3: ")
                .hasMessageContaining("not valid JSON")
                .satisfies(e -> assertThat(((DatasetException) e).line()).isEqualTo(3));
    }

    @Test
    void aMissingImageFailsNamingFileLineAndPath() throws Exception {
        Path f = file(GOOD, "{\"problem\": \"<image>?\", \"images\": [\"images/gone.png\"]}");
        assertThatThrownBy(() -> JsonlDataset.reader().read(f))
                .isInstanceOf(DatasetException.class)
                .hasMessageStartingWith(f + ":2: ")
                .hasMessageContaining("images/gone.png");
    }

    @Test
    void placeholdersMustMatchTheImages() throws Exception {
        Path f = file("{\"problem\": \"<image> and <image>\", \"images\": [\"images/ok.png\"]}");
        assertThatThrownBy(() -> JsonlDataset.reader().read(f))
                .hasMessageStartingWith(f + ":1: ").hasMessageContaining("2 <image> placeholders but 1 images");
    }

    @Test
    void skipKeepsTheGoodLinesAndCountsTheBadOnes() throws Exception {
        Path f = file(GOOD, "[1, 2]", "{\"images\": []}", "{\"problem\": \"<image>?\", \"images\": [\"images/gone.png\"]}",
                GOOD);
        Dataset d = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(f);
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.skipped()).hasSize(3);
        assertThat(d.skipped().get(0)).startsWith(f + ":2: ").contains("expected a JSON object");
        assertThat(d.skipped().get(1)).startsWith(f + ":3: ").contains("'problem'");
        assertThat(d.skipped().get(2)).startsWith(f + ":4: ").contains("gone.png");
    }

    @Test
    void aMissingFileIsAClearError() {
        assertThatThrownBy(() -> JsonlDataset.reader().read(dir.resolve("nope.jsonl")))
                .hasMessageContaining("dataset file not found").hasMessageContaining("nope.jsonl");
    }

    @Test
    void withoutLabelsDropsGoldAnswersAndResponses() throws Exception {
        Dataset d = JsonlDataset.reader().read(file(GOOD)).withoutLabels();
        assertThat(d.examples().get(0).goldAnswer()).isEmpty();
        assertThat(d.examples().get(0).goldResponse()).isEmpty();
    }
}
