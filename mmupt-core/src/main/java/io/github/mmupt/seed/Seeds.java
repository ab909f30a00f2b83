package io.github.mmupt.seed;

/**
 * Every random stream of a run derived from its one seed, in one place, so that no two uses share a stream by
 * accident and a change to one derivation is visible here rather than scattered through the loop.
 *
 * <p>The derivations are fixed: checkpoints resume bit-identically only while they stay what they are, so a
 * change here is a change of every result and belongs in the CHANGELOG.
 *
 * <pre>{@code
 * long stepSeed = Seeds.step(settings.seed(), step);            // what the sampler gets for one step
 * long perResponse = Seeds.response(stepSeed, prompt, response); // one response's own stream
 * }</pre>
 */
public final class Seeds {

    private Seeds() {
    }

    /**
     * The seed handed to the rollout sampler at a training step.
     *
     * @param runSeed the run's seed
     * @param step the step, from 0
     * @return the step's seed
     */
    public static long step(long runSeed, long step) {
        return splitMix(runSeed, step);
    }

    /**
     * The seed of the data order's shuffle for one pass over a dataset.
     *
     * @param runSeed the run's seed
     * @param pass the pass, from 0
     * @return the pass's shuffle seed
     */
    public static long shuffle(long runSeed, long pass) {
        // offset so that pass k's stream is never step k's
        return splitMix(runSeed, 1_000_003L + pass);
    }

    /**
     * The stream of response {@code response} of prompt {@code promptIndex} in one sampling call: independent of
     * the other responses, so a group's responses do not depend on how many are drawn at once.
     *
     * @param callSeed the seed the sampler was called with
     * @param promptIndex the prompt's index in the call
     * @param response the response's index in its group
     * @return the response's seed
     */
    public static long response(long callSeed, long promptIndex, long response) {
        long z = callSeed ^ (promptIndex * 0x9E3779B97F4A7C15L) ^ (response * 0xC2B2AE3D27D4EB4FL);
        return finish(z);
    }

    /**
     * The sampling seed of an evaluation pass, apart from the seed the evaluator was given.
     *
     * @param evalSeed the evaluator's seed
     * @return the seed its sampler gets
     */
    public static long evaluation(long evalSeed) {
        return evalSeed + 1;
    }

    /**
     * The sampling seed of question synthesis's answering pass (the model answers the source questions).
     *
     * @param synthesisSeed the synthesizer's seed
     * @return the answering pass's seed
     */
    public static long synthesisAnswers(long synthesisSeed) {
        return synthesisSeed ^ 0x5DEECE66DL;
    }

    /**
     * The sampling seed of question synthesis's consistency filter (answering the new questions).
     *
     * @param synthesisSeed the synthesizer's seed
     * @return the filter's seed
     */
    public static long synthesisConsistency(long synthesisSeed) {
        return synthesisSeed ^ 0x2545F491L;
    }

    /**
     * The sampling seed of the judge's pass at a training step (SRLM, or MM-UPT blended with a judge), apart
     * from the step's rollout seed.
     *
     * @param runSeed the run's seed
     * @param step the step, from 0
     * @return the judging pass's seed
     */
    public static long judge(long runSeed, long step) {
        return splitMix(runSeed ^ 0x4A554447L, step);
    }

    /** SplitMix64 of two values: independent streams per (seed, index). */
    private static long splitMix(long seed, long index) {
        return finish(seed + 0x9E3779B97F4A7C15L * (index + 1));
    }

    private static long finish(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
