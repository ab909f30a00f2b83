package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.prompt.RgbImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against Pillow 9.4 and a NumPy re-statement of Hugging Face's processor (fixtures made by
 * {@code src/test/scripts/make-qwen-pixel-fixtures.py}): resized bytes equal, pixel values equal bit for bit.
 */
class QwenImageProcessorTest {

    private static final Path FIXTURES = Path.of("src/test/resources/qwen-pixels");
    private final QwenImageProcessor processor = QwenImageProcessor.defaults();

    @Test
    void smartResizeMatchesTheReferenceTable() {
        assertThat(processor.smartResize(224, 224, "a")).containsExactly(224, 224);
        assertThat(processor.smartResize(480, 640, "a")).containsExactly(476, 644);
        assertThat(processor.withPixelRange(3136, 1_003_520).smartResize(1080, 1920, "a")).containsExactly(728, 1316);
        assertThat(processor.smartResize(1080, 1920, "a")).containsExactly(1092, 1932);
        // half to even, as Python's round: 70 / 28 = 2.5 -> 2
        assertThat(processor.smartResize(70, 70, "a")).containsExactly(56, 56);
        assertThat(processor.smartResize(98, 98, "a")).containsExactly(112, 112);
    }

    @Test
    void imagesTheProcessorRejectsAreNamed() {
        assertThatThrownBy(() -> processor.smartResize(27, 100, "images/thin.png"))
                .hasMessageContaining("images/thin.png").hasMessageContaining("100x27 has a side under 28 pixels");
        assertThatThrownBy(() -> processor.smartResize(28, 5_700, "images/strip.png"))
                .hasMessageContaining("images/strip.png").hasMessageContaining("aspect ratio over 200");
        assertThat(processor.smartResize(28, 5_600, "ok")[0]).isEqualTo(28);
    }

    @Test
    void resizeAndPixelValuesAreBitExactAgainstPillowAndTheNumpyReference() throws Exception {
        JsonNode cases = new ObjectMapper().readTree(FIXTURES.resolve("cases.json").toFile()).path("cases");
        assertThat(cases.size()).isEqualTo(4);
        for (JsonNode c : cases) {
            String name = c.path("input").asText();
            RgbImage input = RgbImage.read(FIXTURES.resolve(name));
            RgbImage expectedResize = RgbImage.read(FIXTURES.resolve(c.path("resized").asText()));
            RgbImage resized = PillowBicubic.resize(input, expectedResize.width(), expectedResize.height());
            assertThat(resized.toRgbBytes()).as("resized %s", name).isEqualTo(expectedResize.toRgbBytes());

            QwenPixelValues pixels = processor.withPixelRange(c.path("min_pixels").asLong(),
                    c.path("max_pixels").asLong()).process(input, name);
            assertThat(pixels.gridThw()).as(name).containsExactly(c.path("grid_thw").get(0).asLong(),
                    c.path("grid_thw").get(1).asLong(), c.path("grid_thw").get(2).asLong());
            assertThat(pixels.patches()).isEqualTo(c.path("shape").get(0).asInt());
            assertThat(pixels.patchDim()).isEqualTo(1176);
            for (int i = 0; i < 6; i++) {
                assertThat(pixels.values()[i]).isEqualTo((float) c.path("first_values").get(i).asDouble());
            }
            assertThat(sha256(pixels.values())).as("pixel values of %s", name)
                    .isEqualTo(c.path("pixel_values_sha256").asText());
        }
    }

    @Test
    void identitySizedImagesAreNotResampled() {
        byte[] rgb = new byte[3 * 56 * 56];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 31);
        }
        RgbImage image = RgbImage.of(56, 56, rgb);
        assertThat(PillowBicubic.resize(image, 56, 56).toRgbBytes()).isEqualTo(rgb);
        QwenPixelValues pixels = processor.process(image, "square");
        assertThat(pixels.imageTokens()).isEqualTo(4);
        // row 1 is the second patch of the first 2x2 group: patch (0, 1); column 0 is channel 0, frame 0, (0, 0)
        float expected = ((float) ((rgb[3 * 14] & 0xff) / 255.0) - 0.48145466f) / 0.26862954f;
        assertThat(pixels.values()[1176]).isEqualTo(expected);
        // the second frame repeats the first
        assertThat(pixels.values()[1176 + 196]).isEqualTo(expected);
    }

    @Test
    void preprocessorConfigIsReadAndCheckedWithItsFileNamed(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("preprocessor_config.json"), """
                {"min_pixels": 3136, "max_pixels": 200704, "patch_size": 14, "temporal_patch_size": 2,
                 "merge_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25],
                 "rescale_factor": 0.00392156862745098, "image_processor_type": "Qwen2VLImageProcessor"}""");
        QwenImageProcessor read = QwenImageProcessor.read(file);
        assertThat(read.maxPixels()).isEqualTo(200_704);
        assertThat(read.mean()).containsExactly(0.5f, 0.5f, 0.5f);
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"image_std\": [0.2, 0, 0.2]}");
        assertThatThrownBy(() -> QwenImageProcessor.read(bad)).hasMessageContaining("bad.json")
                .hasMessageContaining("image_std values must be positive");
        Path small = Files.writeString(dir.resolve("small.json"), "{\"min_pixels\": 100}");
        assertThatThrownBy(() -> QwenImageProcessor.read(small)).hasMessageContaining("784 <= min_pixels");
        assertThatThrownBy(() -> QwenImageProcessor.read(dir.resolve("none.json"))).hasMessageContaining("not found");
    }

    private static String sha256(float[] values) throws NoSuchAlgorithmException {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
    }
}
