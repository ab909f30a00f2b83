package io.github.mmupt.grpo;

/**
 * What one optimizer update did.
 *
 * @param step         updates applied so far, this one included (unchanged when skipped)
 * @param gradNorm     global L2 norm of the accumulated gradient before clipping (NaN or infinite when skipped
 *                     for that reason)
 * @param clipScale    factor applied by gradient clipping (1 when not clipped)
 * @param skipped      true when the update was not applied because the gradient was not finite, or because
 *                     the step would have written a non-finite parameter or moment (a finite {@code gradNorm});
 *                     the parameters and optimizer state are then unchanged and the gradient is cleared
 */
public record UpdateResult(long step, double gradNorm, double clipScale, boolean skipped) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param step the component {@code step}, described with the class
     * @param gradNorm the component {@code gradNorm}, described with the class
     * @param clipScale the component {@code clipScale}, described with the class
     * @param skipped the component {@code skipped}, described with the class
     */
    public UpdateResult {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
    }
}
