package io.github.mmupt.examples.cli;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.judge.SamplerJudge;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.storage.AtomicFiles;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code mmupt upt}: trains a model's head on a JSONL file, by majority vote (MM-UPT, no labels read), by the
 * gold answers (supervised GRPO), on the gold responses (SFT, stage 1), or by the unsupervised baselines LMSI and
 * SRLM, and writes under {@code --out}: the
 * metrics JSONL, the curves PNG, checkpoints and the exported model, runnable by any ONNX Runtime.
 */
@Command(name = "upt", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train: MM-UPT (default), supervised GRPO or SFT. Writes metrics.jsonl, curves.png, "
                + "checkpoints/ and model/ (the exported model) under --out. Ctrl-C stops after the step in "
                + "progress with a checkpoint; --resume continues it.")
final class UptCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where the run's files go.")
    Path out;

    @Option(names = "--mode", defaultValue = "upt", paramLabel = "MODE",
            description = "upt (majority vote, no labels), grpo (gold answers), sft (gold responses) or lmsi "
                    + "(cross-entropy on the model's own majority-agreeing responses, no labels; --min-vote-share is "
                    + "its confidence threshold) or srlm (GRPO on the model's own judgments of its responses, "
                    + "JudgePrompt.standard(), no labels); default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--judge-weight", paramLabel = "W", defaultValue = "0",
            description = "With --mode upt: blend the vote's reward with the model's own judgment of each response, "
                    + "reward = (1 - W) vote + W judge, W in [0, 1) (default: ${DEFAULT-VALUE}, the vote alone).")
    double judgeWeight;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "-1",
            description = "Steps in total, counting those a resumed run did; -1: one pass over the data "
                    + "(default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--prompts-per-step", paramLabel = "N", defaultValue = "32",
            description = "Prompts per step, at most the data's size (default: ${DEFAULT-VALUE}; MM-UPT: 512).")
    int promptsPerStep;

    @Option(names = "--responses", paramLabel = "N", defaultValue = "10",
            description = "Responses sampled per prompt (default: ${DEFAULT-VALUE}, MM-UPT's).")
    int responses;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "2048",
            description = "Longest response (default: ${DEFAULT-VALUE}, MM-UPT's).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.7",
            description = "Sampling and loss temperature (default: ${DEFAULT-VALUE}, MM-UPT's).")
    double temperature;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1e-6",
            description = "AdamW learning rate (default: ${DEFAULT-VALUE}, MM-UPT's).")
    double learningRate;

    @Option(names = "--min-vote-share", paramLabel = "S", defaultValue = "0.0",
            description = "Abstain on prompts whose majority holds less than this share (default: ${DEFAULT-VALUE}).")
    double minVoteShare;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "5",
            description = "Steps between checkpoints; the last step always gets one (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from the newest checkpoint under --out.")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        TrainingMode trainingMode = switch (mode) {
            case "upt" -> TrainingMode.UPT;
            case "grpo" -> TrainingMode.SUPERVISED_GRPO;
            case "sft" -> TrainingMode.SFT;
            case "lmsi" -> TrainingMode.LMSI;
            case "srlm" -> TrainingMode.SRLM;
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--mode must be upt, grpo, sft, lmsi or srlm, got '" + mode + "'");
        };
        if (!(judgeWeight >= 0 && judgeWeight < 1) || (judgeWeight > 0 && trainingMode != TrainingMode.UPT)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--judge-weight is in [0, 1) and only "
                    + "for --mode upt (srlm is the judge alone), got " + judgeWeight + " with --mode " + mode);
        }
        Dataset data = model.readData();
        if (promptsPerStep > data.size()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--prompts-per-step " + promptsPerStep
                    + " is more than the " + data.size() + " examples of " + model.data);
        }
        Files.createDirectories(out);
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        SamplingParams sampling = SamplingParams.builder().responsesPerPrompt(responses).temperature(temperature)
                .topP(0.99).maxNewTokens(maxNewTokens).build();
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(temperature).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(learningRate).build();
        StopRequest stop = StopRequest.install(600, () -> err.printf("%nstopping after the step in progress "
                + "(a checkpoint is written; --resume continues)%n"));
        try (OnnxPolicy policy = model.openPolicy();
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, adamW, model.kernel())) {
            stdout.printf(Locale.ROOT, "%s: %s (d=%d, V=%d), %d examples, %s%n", mode, policy.family().name(),
                    policy.spec().hiddenSize(), policy.spec().vocabSize(), data.size(), policy.executionProvider());
            MmUpt run = MmUpt.builder().policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed())).data(data).mode(trainingMode)
                    .steps(steps).promptsPerStep(promptsPerStep).sampling(sampling).seed(model.seed)
                    .labeler(MajorityVoteLabeler.builder().equivalence(model.equivalence()).minAgreement(minVoteShare).build())
                    .listener(new MetricsFile(out.resolve("metrics.jsonl")))
                    .listener(new ProgressBar(mode, err, System.console() != null))
                    .checkpoints(out.resolve("checkpoints"), checkpointEvery).resume(resume).stopWhen(stop::requested)
                    .judge(trainingMode == TrainingMode.SRLM ? JudgeReward.only(selfJudge(policy, head))
                            : judgeWeight > 0 ? new JudgeReward(selfJudge(policy, head), judgeWeight) : null)
                    .build();
            RunResult result = run.run();
            RunCurves.write(out.resolve("metrics.jsonl"), out.resolve("curves.png"), mode);
            if (stop.requested()) {
                stdout.printf(Locale.ROOT, "stopped after step %d; checkpoint in %s%n", completed(result),
                        out.resolve("checkpoints"));
                return 130;
            }
            Path exported = out.resolve("model");
            AtomicFiles.deleteTree(exported); // a rerun replaces the previous export
            policy.exportModel(exported, result.finalHead());
            stdout.printf(Locale.ROOT, "exported the trained model to %s%n", exported);
            String answers = trainingMode == TrainingMode.SFT || result.steps().isEmpty() ? "" : String.format(Locale.ROOT,
                    " answer_rate=%.3f", result.steps().get(result.steps().size() - 1).votes().answerRate());
            stdout.printf(Locale.ROOT, "mode=%s steps=%d%s out=%s%n", mode, completed(result), answers, out);
            return 0;
        } finally {
            stop.uninstall();
        }
    }

    /** The model judging its own responses with the head being trained (SRLM's self-rewarding). */
    private SamplerJudge selfJudge(OnnxPolicy policy, GrpoOptimizer head) {
        return SamplerJudge.builder().sampler(KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed())).build();
    }

    /** Steps completed in all, counting a resumed run's earlier ones. */
    private static long completed(RunResult result) {
        return result.steps().isEmpty() ? 0 : result.steps().get(result.steps().size() - 1).step() + 1;
    }
}
