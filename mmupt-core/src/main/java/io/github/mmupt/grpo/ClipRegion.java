package io.github.mmupt.grpo;

/** Which clip, if any, bound a token's surrogate loss (and so zeroed its policy gradient). */
public enum ClipRegion {
    /** No clip bound: the gradient is -A r. */
    NONE,
    /** A &gt; 0 and r &gt; 1 + high. */
    HIGH,
    /** A &lt; 0 and r &lt; 1 - low. */
    LOW,
    /** A &lt; 0 and r &gt; dual clip. */
    DUAL
}
