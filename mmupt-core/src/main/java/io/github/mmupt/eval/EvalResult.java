package io.github.mmupt.eval;

/**
 * Accuracy on a labeled set.
 *
 * @param examples    how many examples were evaluated
 * @param passAt1     share answered correctly by one sample at the low evaluation temperature
 * @param majorityAtN share whose majority-vote answer over N samples is correct
 * @param n           N
 */
public record EvalResult(int examples, double passAt1, double majorityAtN, int n) {
}
