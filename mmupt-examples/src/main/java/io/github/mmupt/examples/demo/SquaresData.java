package io.github.mmupt.examples.demo;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A small labeled dataset to try a model directory with: PNG pictures of one to three red squares, the question
 * "How many red squares are there?", the count as the gold answer and {@code \boxed{count}} as the gold response
 * (for a stage-1 SFT), in MM-UPT's JSONL fields.
 *
 * <pre>{@code
 * Path jsonl = SquaresData.write(Path.of("data"), 8);
 * }</pre>
 */
public final class SquaresData {

    private SquaresData() {
    }

    /**
     * Writes {@code count} examples as {@code dir/squares.jsonl} with their images under {@code dir/images}.
     *
     * @param dir the directory to write into
     * @param count how many examples
     * @return the JSONL file
     * @throws IOException when writing fails
     */
    public static Path write(Path dir, int count) throws IOException {
        Files.createDirectories(dir.resolve("images"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int squares = i % 3 + 1;
            BufferedImage image = new BufferedImage(60, 60, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            g.setColor(Color.RED);
            for (int k = 0; k < squares; k++) {
                g.fillRect(4 + 18 * k, 10 + 7 * (i % 4), 12, 12);
            }
            g.dispose();
            ImageIO.write(image, "png", dir.resolve("images/" + i + ".png").toFile());
            lines.add("{\"id\": \"q" + i + "\", \"problem\": \"<image>How many red squares are there?\", "
                    + "\"images\": [\"images/" + i + ".png\"], \"answer\": \"" + squares + "\", "
                    + "\"response\": \"\\\\boxed{" + squares + "}\"}");
        }
        Path file = dir.resolve("squares.jsonl");
        Files.write(file, lines);
        return file;
    }
}
