package io.github.mmupt.grpo;

/**
 * DPO's loss over a batch of preference pairs and what it asks of each sequence's log-prob: the coefficients
 * {@code dL/dlogp(chosen_i)} and {@code dL/dlogp(rejected_i)}, which, times each token's log-prob gradient, give
 * the loss's gradient (a sequence's log-prob is the sum of its tokens').
 *
 * @param loss mean over pairs of {@code -log sigmoid(beta * margin_i)}
 * @param chosenCoefficients {@code dL/dlogp(chosen_i)} per pair (at most 0)
 * @param rejectedCoefficients {@code dL/dlogp(rejected_i)} per pair (at least 0, the negation of the chosen one)
 * @param meanMargin mean over pairs of the margin {@code (logp_c - ref_c) - (logp_r - ref_r)}
 * @param accuracy share of pairs with a positive margin (DPO's "reward accuracy")
 */
public record DpoPairs(double loss, double[] chosenCoefficients, double[] rejectedCoefficients, double meanMargin,
        double accuracy) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param loss the component {@code loss}, described with the class
     * @param chosenCoefficients the component {@code chosenCoefficients}, described with the class
     * @param rejectedCoefficients the component {@code rejectedCoefficients}, described with the class
     * @param meanMargin the component {@code meanMargin}, described with the class
     * @param accuracy the component {@code accuracy}, described with the class
     */
    public DpoPairs {
        if (chosenCoefficients == null || rejectedCoefficients == null
                || chosenCoefficients.length != rejectedCoefficients.length) {
            throw new IllegalArgumentException("one chosen and one rejected coefficient per pair");
        }
        chosenCoefficients = chosenCoefficients.clone();
        rejectedCoefficients = rejectedCoefficients.clone();
    }

    /** {@return the number of pairs} */
    public int pairs() {
        return chosenCoefficients.length;
    }

    /** {@return a copy of the chosen responses' coefficients} */
    @Override
    public double[] chosenCoefficients() {
        return chosenCoefficients.clone();
    }

    /** {@return a copy of the rejected responses' coefficients} */
    @Override
    public double[] rejectedCoefficients() {
        return rejectedCoefficients.clone();
    }
}
