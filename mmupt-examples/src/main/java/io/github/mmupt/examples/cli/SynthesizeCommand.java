package io.github.mmupt.examples.cli;

import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.synth.QuestionSynthesizer;
import io.github.mmupt.synth.SynthesisReport;
import io.github.mmupt.synth.SynthesisResult;
import io.github.mmupt.synth.SynthesisStrategy;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code mmupt synthesize}: the model writes new questions about the images of a JSONL (in-context: shown the
 * original question and its answer; direct: the image alone), filtered as the paper does, and the kept ones are
 * written as a new JSONL, unlabeled, ready for {@code upt}.
 */
@Command(name = "synthesize", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write new questions about the data's images (the paper's in-context or direct synthesis) "
                + "into a new JSONL, ready for upt.")
final class SynthesizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The JSONL to write (images beside it).")
    Path out;

    @Option(names = "--strategy", defaultValue = "in_context", paramLabel = "S",
            description = "in_context or direct (default: ${DEFAULT-VALUE}).")
    String strategy;

    @Option(names = "--per-source", paramLabel = "N", defaultValue = "1",
            description = "Questions kept per source example at most (default: ${DEFAULT-VALUE}).")
    int perSource;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256",
            description = "Longest question or answer written (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Override
    public Integer call() throws Exception {
        SynthesisStrategy s = switch (strategy) {
            case "in_context" -> SynthesisStrategy.IN_CONTEXT;
            case "direct" -> SynthesisStrategy.DIRECT;
            default -> throw new ParameterException(spec.commandLine(), "--strategy must be in_context or direct, got '"
                    + strategy + "'");
        };
        if (!out.getFileName().toString().endsWith(".jsonl")) {
            throw new ParameterException(spec.commandLine(), "--out must name a .jsonl file, got " + out);
        }
        Dataset data = model.readData();
        try (OnnxPolicy policy = model.openPolicy()) {
            try (HeadScorer head = HeadOptimizers.scorer(policy.initialHead(), 1.0, model.kernel())) {
                KvCacheSampler sampler = KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed());
                SynthesisResult r = QuestionSynthesizer.builder().sampler(sampler).strategy(s).questionsPerSource(perSource)
                        .writing(SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).topP(1.0)
                                .maxNewTokens(maxNewTokens).build())
                        .answering(SamplingParams.builder().responsesPerPrompt(8).temperature(0.7).topP(1.0)
                                .maxNewTokens(maxNewTokens).build())
                        .seed(model.seed).build().synthesize(data.examples());
                JsonlDataset.write(out, r.dataset().examples());
                SynthesisReport rep = r.report();
                spec.commandLine().getOut().printf(Locale.ROOT, "sources=%d candidates=%d kept=%d out=%s%n", rep.sources(),
                        rep.candidates(), rep.kept(), out);
            }
        }
        return 0;
    }
}
