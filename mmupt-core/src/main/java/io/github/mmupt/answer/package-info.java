/**
 * Final answers: {@link io.github.mmupt.answer.AnswerExtractor} finds them in a response,
 * {@link io.github.mmupt.answer.AnswerEquivalence} decides whether two mean the same. Pure Java; no computer
 * algebra system.
 */
package io.github.mmupt.answer;
