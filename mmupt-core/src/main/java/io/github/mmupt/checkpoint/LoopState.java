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

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param step the component {@code step}, described with the class
     * @param epoch the component {@code epoch}, described with the class
     * @param cursor the component {@code cursor}, described with the class
     * @param seed the component {@code seed}, described with the class
     */
    public LoopState {
        if (step < 0 || epoch < 0 || cursor < 0) {
            throw new IllegalArgumentException("loop counters must be >= 0, got step " + step + ", epoch " + epoch
                    + ", cursor " + cursor);
        }
    }

    /**
     * The state of a run that has not started.
     *
     * @param seed the run's root seed
     * @return step 0 of pass 0
     */
    public static LoopState start(long seed) {
        return new LoopState(0, 0, 0, seed);
    }
}
