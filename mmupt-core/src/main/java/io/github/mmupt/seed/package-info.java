/**
 * Seed derivation: every random stream of a run comes from its one seed through {@link io.github.mmupt.seed.Seeds}.
 */
package io.github.mmupt.seed;
