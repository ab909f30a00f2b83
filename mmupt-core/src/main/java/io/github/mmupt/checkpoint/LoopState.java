package io.github.mmupt.checkpoint;

/**
 * Where a training loop is: enough, with the optimizer state, to continue exactly as if it had not stopped.
 * Sampling seeds and the data order are functions of the run's seed and these counters, so no random-number
 * generator state needs saving.
 *
 * @param step   steps completed
 * @param epoch  passes over the data started (the current pass's order is shuffled from the seed and it)
 * @param cursor position within the current pass
 * @param seed   the run's root seed
 */
public record LoopState(long step, int epoch, int cursor, long seed) {

    public LoopState {
        if (step < 0 || epoch < 0 || cursor < 0) {
            throw new IllegalArgumentException("loop counters must be >= 0, got step " + step + ", epoch " + epoch
                    + ", cursor " + cursor);
        }
    }

    public static LoopState start(long seed) {
        return new LoopState(0, 0, 0, seed);
    }
}
