/**
 * The {@link io.github.mmupt.policy.Policy} seam: a frozen multimodal trunk giving final hidden states
 * [T x d] for the head.
 */
package io.github.mmupt.policy;
