/**
 * Label-free rewards: majority voting over equivalence classes of answers
 * ({@link io.github.mmupt.vote.MajorityVoteLabeler}) behind the {@link io.github.mmupt.vote.PseudoLabeler}
 * seam, and monitoring against gold answers ({@link io.github.mmupt.vote.LabelAudit}) that never feeds back.
 */
package io.github.mmupt.vote;
