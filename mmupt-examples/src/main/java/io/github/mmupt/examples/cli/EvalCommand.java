package io.github.mmupt.examples.cli;

import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.eval.EvalResult;
import io.github.mmupt.eval.Evaluator;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code mmupt eval}: pass@1 (one sample at a low temperature) and maj@k (the majority answer of k samples) of a
 * model directory on a labeled JSONL, as the paper reports them. Examples without a gold answer are refused.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a model directory on a labeled JSONL: pass@1 and maj@k. Last line: "
                + "examples=N pass@1=P maj@K=M.")
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--samples", paramLabel = "K", defaultValue = "8",
            description = "Samples of the majority vote (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--pass-temperature", paramLabel = "T", defaultValue = "0.2",
            description = "Temperature of the pass@1 sample (default: ${DEFAULT-VALUE}, MM-UPT's evaluation).")
    double passTemperature;

    @Option(names = "--vote-temperature", paramLabel = "T", defaultValue = "0.7",
            description = "Temperature of the k vote samples (default: ${DEFAULT-VALUE}).")
    double voteTemperature;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "2048",
            description = "Longest response (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Override
    public Integer call() throws Exception {
        if (samples < 1) {
            throw new ParameterException(spec.commandLine(), "--samples must be >= 1, got " + samples);
        }
        Dataset data = model.readData();
        List<Example> unlabeled = data.examples().stream().filter(e -> e.goldAnswer().isEmpty()).toList();
        if (!unlabeled.isEmpty()) {
            throw new IllegalArgumentException(model.data + ": " + unlabeled.size() + " of " + data.size()
                    + " examples have no gold answer (the first: " + unlabeled.get(0).prompt().id()
                    + "); eval needs a labeled file");
        }
        try (OnnxPolicy policy = model.openPolicy()) {
            try (HeadScorer head = HeadOptimizers.scorer(policy.initialHead(), voteTemperature, model.kernel())) {
                KvCacheSampler sampler = KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed());
                EvalResult r = new Evaluator(sampler, model.equivalence()).evaluate(data.examples(),
                        passTemperature, samples, voteTemperature, maxNewTokens, model.seed);
                spec.commandLine().getOut().printf(Locale.ROOT, "examples=%d pass@1=%.4f maj@%d=%.4f%n", r.examples(),
                        r.passAt1(), r.n(), r.majorityAtN());
            }
        }
        return 0;
    }
}
