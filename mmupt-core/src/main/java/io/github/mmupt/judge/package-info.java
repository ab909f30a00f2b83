/**
 * Rewards from a judge instead of, or blended with, the vote: a model reads each sampled response and writes a
 * score ({@link io.github.mmupt.judge.ResponseJudge}, SRLM's self-rewarding when the judge is the policy
 * itself), the documented and replaceable judging prompt ({@link io.github.mmupt.judge.JudgePrompt}), the
 * parser that turns a judgment into a score or into no score ({@link io.github.mmupt.judge.JudgeScores}), and
 * how judge scores and vote rewards combine ({@link io.github.mmupt.judge.JudgeReward}). Like the pseudo-labeler,
 * a judge sees prompts and responses only: no gold answer can reach it.
 */
package io.github.mmupt.judge;
