package io.github.mmupt.examples.cli;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.data.DataErrorPolicy;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options every command shares: the model directory, the data file and how many threads each engine gets;
 * and opening them, with errors that name the file.
 */
final class ModelOptions {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A model directory: a Qwen2-VL / Qwen2.5-VL ONNX export (config.json) or a generated tiny "
                    + "model (mmupt-model.json).")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "A JSONL file, one example a line (fields problem, images, answer; image paths relative "
                    + "to the file).")
    Path data;

    @Option(names = "--skip-bad-lines", description = "Skip malformed lines of --data (each is counted and the "
            + "first named) instead of stopping at the first.")
    boolean skipBadLines;

    @Option(names = "--ort-threads", paramLabel = "N", defaultValue = "1",
            description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
    int ortThreads;

    @Option(names = "--kernel-threads", paramLabel = "N", defaultValue = "0",
            description = "Head-kernel threads; 0 uses every core (default: ${DEFAULT-VALUE}).")
    int kernelThreads;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "The root seed of sampling and data order (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Which answers count as the same: math (the default) or visual-question answers. */
    enum Answers {
        math, vqa
    }

    @Option(names = "--answers", paramLabel = "KIND", defaultValue = "math",
            description = "How answers are compared, for votes and for evaluation: math (numbers, fractions, "
                    + "expressions, sets) or vqa (yes/no, multiple choice, short text with VQA's normalizations, "
                    + "numbers within 5%% as ChartQA) (default: ${DEFAULT-VALUE}).")
    Answers answers;

    AnswerEquivalence equivalence() {
        return answers == Answers.vqa ? AnswerEquivalence.vqa() : AnswerEquivalence.standard();
    }

    OnnxPolicy openPolicy() throws IOException {
        if (!Files.isDirectory(model)) {
            throw new IOException("--model " + model + " is not a directory");
        }
        return OnnxPolicy.open(model, PolicyOptions.defaults().withIntraOpThreads(ortThreads));
    }

    Dataset readData() throws IOException {
        if (!Files.isRegularFile(data)) {
            throw new IOException("--data " + data + " is not a file");
        }
        Dataset d = JsonlDataset.reader().onError(skipBadLines ? DataErrorPolicy.SKIP : DataErrorPolicy.FAIL).read(data);
        if (!d.skipped().isEmpty()) {
            System.err.println("skipped " + d.skipped().size() + " bad line(s) of " + data + "; the first: "
                    + d.skipped().get(0));
        }
        if (d.size() == 0) {
            throw new IOException("--data " + data + " has no usable example" + (d.skipped().isEmpty() ? ""
                    : " (" + d.skipped().size() + " skipped, the first: " + d.skipped().get(0) + ")"));
        }
        return d;
    }

    KernelOptions kernel() {
        return KernelOptions.defaults().withThreads(kernelThreads);
    }
}
