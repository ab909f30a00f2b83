package io.github.mmupt.onnx.family;

/**
 * Where one image's features go in an encoded prompt: the vision output's rows overwrite the token embeddings
 * of positions {@code start .. start + feed.rows() - 1} (the image tokens the family laid out for it).
 *
 * @param start the first image token's index in the prompt
 * @param feed  the vision graph's inputs for the image
 */
public record ImageSlot(int start, VisionFeed feed) {

    /**
     * Checks the start.
     *
     * @param start the component {@code start}, described with the class
     * @param feed the component {@code feed}, described with the class
     */
    public ImageSlot {
        if (start < 0 || feed == null) {
            throw new IllegalArgumentException("an image slot needs a start >= 0 and a feed, got " + start);
        }
    }
}
