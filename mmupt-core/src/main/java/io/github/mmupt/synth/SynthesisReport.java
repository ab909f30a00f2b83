package io.github.mmupt.synth;

import java.util.Locale;

/**
 * What a synthesis pass wrote and what each filter removed, in filter order.
 *
 * @param sources            originals given
 * @param sourcesWithoutAnswer originals skipped because in-context synthesizing had no answer to show (the
 *                           policy's vote abstained)
 * @param candidates         questions written
 * @param notAQuestion       removed: did not parse as a question
 * @param outOfLength        removed: too short or too long
 * @param duplicateOfOriginal removed: near-duplicate of the original question
 * @param duplicateOfKept    removed: near-duplicate of a question already kept
 * @param inconsistent       removed: the policy's own answers agreed less than required
 * @param surplus            passed every filter but the original already had its quota of questions
 * @param kept               questions in the synthesized dataset
 */
public record SynthesisReport(int sources, int sourcesWithoutAnswer, int candidates, int notAQuestion, int outOfLength,
        int duplicateOfOriginal, int duplicateOfKept, int inconsistent, int surplus, int kept) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param sources the component {@code sources}, described with the class
     * @param sourcesWithoutAnswer the component {@code sourcesWithoutAnswer}, described with the class
     * @param candidates the component {@code candidates}, described with the class
     * @param notAQuestion the component {@code notAQuestion}, described with the class
     * @param outOfLength the component {@code outOfLength}, described with the class
     * @param duplicateOfOriginal the component {@code duplicateOfOriginal}, described with the class
     * @param duplicateOfKept the component {@code duplicateOfKept}, described with the class
     * @param inconsistent the component {@code inconsistent}, described with the class
     * @param surplus the component {@code surplus}, described with the class
     * @param kept the component {@code kept}, described with the class
     */
    public SynthesisReport {
        if (notAQuestion + outOfLength + duplicateOfOriginal + duplicateOfKept + inconsistent + surplus + kept != candidates) {
            throw new IllegalArgumentException("every candidate is either removed once or kept: " + counts(notAQuestion,
                    outOfLength, duplicateOfOriginal, duplicateOfKept, inconsistent, surplus, kept) + " vs " + candidates);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d sources (%d without an answer), %d candidates: %s", sources,
                sourcesWithoutAnswer, candidates, counts(notAQuestion, outOfLength, duplicateOfOriginal, duplicateOfKept,
                        inconsistent, surplus, kept));
    }

    private static String counts(int q, int len, int dupO, int dupK, int inc, int sur, int kept) {
        return String.format(Locale.ROOT, "not a question %d, length %d, duplicate of original %d, duplicate %d, "
                + "inconsistent %d, over quota %d, kept %d", q, len, dupO, dupK, inc, sur, kept);
    }
}
