package io.github.mmupt.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptTest {

    private static final RgbImage IMAGE = RgbImage.of(2, 1, new byte[] {1, 2, 3, 4, 5, 6});

    @Test
    void placeholdersMustMatchTheImages() {
        assertThat(new Prompt("p1", List.of(IMAGE), "<image>How many?").images()).hasSize(1);
        assertThat(new Prompt("p2", List.of(IMAGE), "How many?").images()).hasSize(1); // images go first
        assertThatThrownBy(() -> new Prompt("p3", List.of(IMAGE), "<image><image>Compare"))
                .hasMessageContaining("prompt p3").hasMessageContaining("2 <image> placeholders but 1 images");
        assertThatThrownBy(() -> new Prompt(" ", List.of(), "q")).hasMessageContaining("id");
        assertThatThrownBy(() -> new Prompt("p4", List.of(), "")).hasMessageContaining("question");
    }

    @Test
    void imagesAreImmutableCopies() {
        byte[] pixels = {10, 20, 30};
        RgbImage image = RgbImage.of(1, 1, pixels);
        pixels[0] = 99;
        assertThat(image.channel(0, 0, 0)).isEqualTo(10);
        image.toRgbBytes()[1] = 99;
        assertThat(image.channel(0, 0, 1)).isEqualTo(20);
        assertThatThrownBy(() -> RgbImage.of(2, 2, new byte[5])).hasMessageContaining("needs 12 bytes, got 5");
        assertThatThrownBy(() -> image.channel(1, 0, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void readsImageFilesAndNamesMissingOnes(@TempDir Path dir) throws IOException {
        BufferedImage drawn = new BufferedImage(3, 2, BufferedImage.TYPE_INT_ARGB);
        drawn.setRGB(2, 1, new Color(200, 100, 50, 128).getRGB());
        Path file = dir.resolve("a.png");
        ImageIO.write(drawn, "png", file.toFile());
        RgbImage image = RgbImage.read(file);
        assertThat(image.width()).isEqualTo(3);
        assertThat(image.channel(2, 1, 0)).isEqualTo(200);
        assertThat(image.channel(2, 1, 2)).isEqualTo(50);
        assertThat(RgbImage.from(image.toBufferedImage())).isEqualTo(image);

        assertThatThrownBy(() -> RgbImage.read(dir.resolve("missing.png")))
                .isInstanceOf(IOException.class).hasMessageContaining("missing.png");
        Path text = Files.writeString(dir.resolve("b.png"), "not an image");
        assertThatThrownBy(() -> RgbImage.read(text)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a readable image");
    }
}
