/**
 * Preference data the model makes for itself, STIC-style (Deng et al., 2024): a preferred response from a good
 * prompt on the real image, a dispreferred one from a poor prompt or a corrupted image
 * ({@link io.github.mmupt.preference.PreferencePairWriter}, {@link io.github.mmupt.preference.ImageCorruption}),
 * as {@link io.github.mmupt.preference.PreferencePair}s for DPO ({@code io.github.mmupt.train.DpoTrainer}). No
 * label is read.
 */
package io.github.mmupt.preference;
