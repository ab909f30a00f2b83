package io.github.mmupt.examples.demo;

import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The synthetic visual reasoning task of the embedded default: a 48x48 picture of red, green and blue squares
 * and discs (0 to 3 of each colour, one size), and a question about how many shapes of one or two colours there
 * are. The gold response names a way of looking (drawn at random: the gold data does not say which way is
 * best, see {@link DesignedTrunk}), counts each asked colour, then adds:
 * <pre>
 *   how many red and blue shapes are there ?    -&gt;   across Red 2 Blue 1 = \boxed{3}
 *   how many green shapes are there ?           -&gt;   diagonal Green 3 = \boxed{3}
 * </pre>
 * Colours are asked in the fixed order red, green, blue. Everything is drawn with Java2D from a seed.
 */
public final class ShapesTask {

    public static final int IMAGE_SIZE = 48;
    /** The area in pixels that counts as one shape (a 6x6 square). */
    public static final double UNIT_AREA = 36.0;
    static final String[] COLORS = {"red", "green", "blue"};
    static final String[] RESPONSE_COLORS = {"Red", "Green", "Blue"};
    /** The ways of looking a response starts with (see {@link DesignedTrunk#SENSITIVITY}). */
    static final List<String> METHODS = List.of("across", "down", "diagonal");
    private static final Color[] PAINT = {new Color(255, 0, 0), new Color(0, 255, 0), new Color(0, 0, 255)};
    private static final int MAX_PER_COLOR = 3;

    private ShapesTask() {
    }

    /** The words of questions and responses (the tokenizer's vocabulary after its specials). */
    public static List<String> vocabulary() {
        List<String> words = new ArrayList<>(List.of("how", "many", "and", "shapes", "are", "there", "?"));
        words.addAll(List.of(COLORS));
        words.addAll(List.of(RESPONSE_COLORS));
        words.addAll(List.of("=", "\\boxed{", "}"));
        words.addAll(List.of("answer", "new", "question", ":")); // the question-writing prompts (SynthesisDemo)
        words.addAll(METHODS);
        for (int d = 0; d <= 9; d++) {
            words.add(String.valueOf(d));
        }
        return words;
    }

    /** {@code count} examples from {@code seed}; ids are {@code prefix-0}, {@code prefix-1}, ... */
    public static List<Example> generate(String prefix, int count, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Example> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(example(prefix + "-" + i, rng.split()));
        }
        return out;
    }

    static Example example(String id, SplittableRandom rng) {
        int[] counts = new int[3];
        for (int c = 0; c < 3; c++) {
            counts[c] = rng.nextInt(MAX_PER_COLOR + 1);
        }
        RgbImage image = draw(counts, rng);
        int[] asked = randomColours(rng);
        StringBuilder response = new StringBuilder(METHODS.get(rng.nextInt(METHODS.size()))).append(' ');
        int sum = 0;
        for (int c : asked) {
            response.append(RESPONSE_COLORS[c]).append(' ').append(counts[c]).append(' ');
            sum += counts[c];
        }
        response.append("= \\boxed{").append(sum).append('}');
        return new Example(new Prompt(id, List.of(image), "<image> " + question(asked)), Optional.of(String.valueOf(sum)),
                Optional.of(response.toString()));
    }

    /** One or two distinct colours, in the fixed order. */
    private static int[] randomColours(SplittableRandom rng) {
        boolean pair = rng.nextBoolean();
        int first = rng.nextInt(3);
        int second = (first + 1 + rng.nextInt(2)) % 3;
        return pair ? new int[] {Math.min(first, second), Math.max(first, second)} : new int[] {first};
    }

    private static String question(int[] asked) {
        StringBuilder q = new StringBuilder("how many ");
        for (int k = 0; k < asked.length; k++) {
            q.append(k > 0 ? " and " : "").append(COLORS[asked[k]]);
        }
        return q.append(" shapes are there ?").toString();
    }

    /** A question of the task drawn at random (without its image placeholder). */
    public static String randomQuestion(SplittableRandom rng) {
        return question(randomColours(rng));
    }

    /**
     * Whether {@code text} is a question of this task: {@code how many C [and C2] shapes are there ?} with
     * distinct colours in the order red, green, blue (spacing before {@code ?} free). What the demo's
     * synthesis filter accepts.
     */
    public static boolean isQuestion(String text) {
        String[] w = text.strip().replace("?", " ?").split("\\s+");
        int n = w.length;
        if (n != 7 && n != 9) {
            return false;
        }
        if (!w[0].equals("how") || !w[1].equals("many") || !w[n - 4].equals("shapes") || !w[n - 3].equals("are")
                || !w[n - 2].equals("there") || !w[n - 1].equals("?")) {
            return false;
        }
        int a = List.of(COLORS).indexOf(w[2]);
        if (n == 7) {
            return a >= 0;
        }
        int b = List.of(COLORS).indexOf(w[4]);
        return a >= 0 && w[3].equals("and") && b > a;
    }

    /** Non-overlapping squares and discs of the given counts per colour on white. */
    static RgbImage draw(int[] counts, SplittableRandom rng) {
        BufferedImage img = new BufferedImage(IMAGE_SIZE, IMAGE_SIZE, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);
        List<int[]> placed = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            for (int k = 0; k < counts[c]; k++) {
                boolean disc = rng.nextBoolean();
                int side = disc ? 7 : 6; // a 6x6 square is one unit; a disc of diameter 7 about 0.9 of one
                int[] box = place(placed, side, rng);
                g.setColor(PAINT[c]);
                if (disc) {
                    g.fillOval(box[0], box[1], side, side);
                } else {
                    g.fillRect(box[0], box[1], side, side);
                }
            }
        }
        g.dispose();
        return RgbImage.from(img);
    }

    private static int[] place(List<int[]> placed, int side, SplittableRandom rng) {
        for (int attempt = 0; attempt < 10_000; attempt++) {
            int x = rng.nextInt(IMAGE_SIZE - side);
            int y = rng.nextInt(IMAGE_SIZE - side);
            boolean free = true;
            for (int[] p : placed) {
                if (x < p[0] + p[2] + 1 && p[0] < x + side + 1 && y < p[1] + p[2] + 1 && p[1] < y + side + 1) {
                    free = false;
                    break;
                }
            }
            if (free) {
                int[] box = {x, y, side};
                placed.add(box);
                return box;
            }
        }
        throw new IllegalStateException("could not place a shape without overlap");
    }
}
