package io.github.mmupt.synth;

/**
 * How the policy writes a new question about an image (MM-UPT, section "Data synthesis").
 *
 * <ul>
 *   <li>{@link #IN_CONTEXT}: it sees the image, an original question and an answer, and writes a different
 *       question about the same image.</li>
 *   <li>{@link #DIRECT}: it sees only the image and writes a question.</li>
 * </ul>
 */
public enum SynthesisStrategy {
    /** Image, original question and an answer in; a different question out. */
    IN_CONTEXT("in_context"),
    /** Image only in; a question out. */
    DIRECT("direct");

    private final String label;

    SynthesisStrategy(String label) {
        this.label = label;
    }

    /** {@return the name written in provenance and file names: {@code in_context} or {@code direct}} */
    public String label() {
        return label;
    }
}
