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

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param name the component {@code name}, described with the class
     * @param examples the component {@code examples}, described with the class
     * @param skipped the component {@code skipped}, described with the class
     */
    public Dataset {
        if (name == null || examples == null || skipped == null) {
            throw new IllegalArgumentException("name, examples and skipped must not be null");
        }
        examples = List.copyOf(examples);
        skipped = List.copyOf(skipped);
    }

    /**
     * A dataset with nothing skipped.
     *
     * @param name where the examples came from
     * @param examples the examples
     * @return the dataset
     */
    public static Dataset of(String name, List<Example> examples) {
        return new Dataset(name, examples, List.of());
    }

    /** {@return the number of examples} */
    public int size() {
        return examples.size();
    }

    /** {@return the same prompts with every gold field removed: what an unlabeled run sees} */
    public Dataset withoutLabels() {
        return new Dataset(name, examples.stream().map(Example::withoutLabels).toList(), skipped);
    }
}
