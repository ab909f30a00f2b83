package io.github.mmupt.onnx.tiny;

import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test fixtures: a small vocabulary, a tiny random model written to a directory, and a prompt with an image. */
public final class TinyModels {

    public static final List<String> WORDS = List.of("how", "many", "red", "blue", "green", "circles", "squares",
            "are", "there", "?", "+", "=", "\\boxed{", "}", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "the",
            "answer", "is", ".", "count", "shapes");

    private TinyModels() {
    }

    public static VocabularyTokenizer tokenizer() {
        return VocabularyTokenizer.of(WORDS);
    }

    public static TinyVlmConfig config() {
        return TinyVlmConfig.small(tokenizer().vocabSize());
    }

    /** Writes a random tiny model with the given seed into {@code dir}. */
    public static Path write(Path dir, long seed) throws IOException {
        TinyVlmConfig c = config();
        TinyVlmBuilder.write(dir, c, TinyVlmWeights.random(c, seed), tokenizer());
        return dir;
    }

    /** A 40x40 picture (resized to the model's 32x32) with a red and a blue block, and a question about it. */
    public static Prompt prompt(String id) {
        int w = 40;
        byte[] rgb = new byte[w * w * 3];
        for (int y = 0; y < w; y++) {
            for (int x = 0; x < w; x++) {
                int o = 3 * (y * w + x);
                boolean red = x < 15 && y < 15;
                boolean blue = x > 25 && y > 20;
                rgb[o] = (byte) (red ? 220 : blue ? 20 : 250);
                rgb[o + 1] = (byte) (red || blue ? 30 : 250);
                rgb[o + 2] = (byte) (blue ? 220 : red ? 20 : 250);
            }
        }
        return new Prompt(id, List.of(RgbImage.of(w, w, rgb)), "<image> how many red shapes are there ?");
    }

    public static List<Prompt> prompts(int n) {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(prompt("p" + i));
        }
        return out;
    }
}
