package io.github.mmupt.continual;

import io.github.mmupt.answer.AnswerEquivalence;
import java.util.OptionalDouble;

/**
 * What a window's signals are compared with: the starting model (window 0), the first accepted window (the
 * warm-up baseline of the training signals, which window 0 does not have; until one is accepted, the window
 * itself), the previous window, the best version (the one a rollback returns to) and its canary accuracy.
 *
 * @param start       the starting model's signals (probe and canary only)
 * @param warmup      the first accepted window's signals
 * @param previous    the previous window's signals
 * @param best        the best version's signals
 * @param bestCanary  the best canary accuracy of a published version; empty without a canary set
 * @param equivalence when two answers are the same
 */
public record GuardContext(WindowSignals start, WindowSignals warmup, WindowSignals previous, WindowSignals best,
        OptionalDouble bestCanary, AnswerEquivalence equivalence) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param start the component {@code start}, described with the class
     * @param warmup the component {@code warmup}, described with the class
     * @param previous the component {@code previous}, described with the class
     * @param best the component {@code best}, described with the class
     * @param bestCanary the component {@code bestCanary}, described with the class
     * @param equivalence the component {@code equivalence}, described with the class
     */
    public GuardContext {
        if (start == null || warmup == null || previous == null || best == null || bestCanary == null
                || equivalence == null) {
            throw new IllegalArgumentException("every part of a guard context is required");
        }
    }
}
