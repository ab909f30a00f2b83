package io.github.mmupt.data;

import java.util.List;

/**
 * Examples to train or evaluate on, and the lines a reader left out (with why).
 *
 * @param name     where the examples came from, for messages
 * @param examples the examples, in file order
 * @param skipped  one message per line left out under {@link DataErrorPolicy#SKIP}, naming file and line
 */
public record Dataset(String name, List<Example> examples, List<String> skipped) {

    public Dataset {
        if (name == null || examples == null || skipped == null) {
            throw new IllegalArgumentException("name, examples and skipped must not be null");
        }
        examples = List.copyOf(examples);
        skipped = List.copyOf(skipped);
    }

    public static Dataset of(String name, List<Example> examples) {
        return new Dataset(name, examples, List.of());
    }

    public int size() {
        return examples.size();
    }

    /** The same prompts with every gold field removed: what an unlabeled run sees. */
    public Dataset withoutLabels() {
        return new Dataset(name, examples.stream().map(Example::withoutLabels).toList(), skipped);
    }
}
