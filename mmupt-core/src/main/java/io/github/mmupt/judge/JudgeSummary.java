package io.github.mmupt.judge;

/**
 * What a judge made of one step's responses: how many it could score, and their mean score, the signal to watch
 * when a judge's prompt or scale does not fit its model (a low scored share) or a policy learns to please its
 * judge (a mean score rising while held-out accuracy does not).
 *
 * <pre>{@code
 * JudgeSummary s = new JudgeSummary(512, 390, 0.41);
 * s.scoredShare();   // 0.76
 * }</pre>
 *
 * @param responses responses put before the judge
 * @param scored responses it gave a readable score
 * @param meanScore mean of the readable scores, in [0, 1]; NaN when none was readable
 */
public record JudgeSummary(int responses, int scored, double meanScore) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param responses the component {@code responses}, described with the class
     * @param scored the component {@code scored}, described with the class
     * @param meanScore the component {@code meanScore}, described with the class
     */
    public JudgeSummary {
        if (responses < 0 || scored < 0 || scored > responses) {
            throw new IllegalArgumentException("need 0 <= scored <= responses, got " + scored + " of " + responses);
        }
        if (scored > 0 ? !(meanScore >= 0 && meanScore <= 1) : !Double.isNaN(meanScore)) {
            throw new IllegalArgumentException("the mean score is in [0, 1] when something was scored, NaN otherwise, got "
                    + meanScore + " for " + scored + " scored");
        }
    }

    /** {@return the share of responses the judge scored; 0 when there were none} */
    public double scoredShare() {
        return responses == 0 ? 0.0 : (double) scored / responses;
    }
}
