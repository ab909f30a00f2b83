package io.github.mmupt.grpo;

/**
 * The PPO clip of the importance ratio r = pi / pi_old, with separate low and high sides (DAPO's
 * "clip-higher") and an optional dual clip for negative advantages.
 *
 * <p>Per token, with advantage A: {@code L = max(-A r, -A clip(r, 1 - low, 1 + high))}, and, when A &lt; 0,
 * {@code L = min(L, -A dualClip)}. The gradient is zero exactly where a clip binds: A &gt; 0 and
 * r &gt; 1 + high; A &lt; 0 and r &lt; 1 - low; A &lt; 0 and r &gt; dualClip.
 *
 * @param low      epsilon below 1, in [0, 1). MM-UPT/EasyR1: 0.2.
 * @param high     epsilon above 1, &gt;= 0. MM-UPT/EasyR1: 0.3 (TRL's default is 0.2, DAPO's 0.28).
 * @param dualClip c &gt; 1, the bound on the loss of negative-advantage tokens (Ye et al., "dual-clip PPO");
 *                 {@link Double#POSITIVE_INFINITY} turns it off. MM-UPT/EasyR1: 3.0.
 */
public record ClipRange(double low, double high, double dualClip) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param low the component {@code low}, described with the class
     * @param high the component {@code high}, described with the class
     * @param dualClip the component {@code dualClip}, described with the class
     */
    public ClipRange {
        if (!(low >= 0 && low < 1)) {
            throw new IllegalArgumentException("clip low must be in [0, 1), got " + low);
        }
        if (!(high >= 0 && Double.isFinite(high))) {
            throw new IllegalArgumentException("clip high must be finite and >= 0, got " + high);
        }
        if (!(dualClip > 1)) {
            throw new IllegalArgumentException("dual clip must be > 1 (or +Infinity for off), got " + dualClip);
        }
    }

    /**
     * MM-UPT's (EasyR1's) values: 0.2 / 0.3 / dual clip 3.
     *
     * @return low 0.2, high 0.3, dual clip 3
     */
    public static ClipRange mmUpt() {
        return new ClipRange(0.2, 0.3, 3.0);
    }

    /**
     * Symmetric PPO clip without dual clip.
     *
     * @param epsilon the clip on both sides
     * @return [1 - epsilon, 1 + epsilon], no dual clip
     */
    public static ClipRange symmetric(double epsilon) {
        return new ClipRange(epsilon, epsilon, Double.POSITIVE_INFINITY);
    }

    /** {@return whether a dual clip bounds the loss of negative advantages} */
    public boolean hasDualClip() {
        return dualClip != Double.POSITIVE_INFINITY;
    }
}
