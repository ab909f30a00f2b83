package io.github.mmupt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checkpoints in a directory, one sub-directory per step ({@code step-00000012/}) holding
 * {@code head.safetensors} (parameters and AdamW moments, float32) and {@code state.json} (loop counters,
 * model identity, head shape). Each is written to a temporary directory and renamed into place, so a crash
 * leaves either the complete checkpoint or none.
 *
 * <pre>{@code
 * CheckpointStore store = new CheckpointStore(Path.of("runs/upt/checkpoints"));
 * Optional<Checkpoint> last = store.latest(policy.spec().modelId(), optimizer.shape());
 * }</pre>
 */
public final class CheckpointStore {

    static final String FORMAT = "mmupt-checkpoint/1";
    private static final String HEAD_FILE = "head.safetensors";
    private static final String STATE_FILE = "state.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path directory;

    public CheckpointStore(Path directory) {
        this.directory = directory;
    }

    public Path directory() {
        return directory;
    }

    /** Writes a checkpoint atomically; returns its directory. */
    public Path save(Checkpoint c) throws IOException {
        Files.createDirectories(directory);
        Path target = directory.resolve(String.format("step-%08d", c.loop().step()));
        Path tmp = Files.createTempDirectory(directory, ".tmp-step-");
        try {
            OptimizerState s = c.optimizer();
            Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
            for (String name : s.names()) {
                tensors.put(name, new Safetensors.Tensor(dims(s.shape(), name), s.tensor(name)));
            }
            Safetensors.write(tmp.resolve(HEAD_FILE), tensors, Map.of("format", FORMAT, "model_id", c.modelId()));
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("format", FORMAT);
            state.put("modelId", c.modelId());
            state.put("vocabSize", s.shape().vocabSize());
            state.put("hiddenSize", s.shape().hiddenSize());
            state.put("loraRank", s.shape().loraRank());
            state.put("loraAlpha", s.shape().loraAlpha());
            state.put("optimizerStep", s.step());
            state.put("step", c.loop().step());
            state.put("epoch", c.loop().epoch());
            state.put("cursor", c.loop().cursor());
            state.put("seed", c.loop().seed());
            AtomicFiles.write(tmp.resolve(STATE_FILE), out -> JSON.writeValue(out, state));
            if (Files.exists(target)) {
                AtomicFiles.deleteTree(target);
            }
            AtomicFiles.move(tmp, target);
            return target;
        } finally {
            if (Files.exists(tmp)) {
                AtomicFiles.deleteTree(tmp);
            }
        }
    }

    /** The newest complete checkpoint, checked against the model and head it must fit; empty if there is none. */
    public Optional<Checkpoint> latest(String modelId, HeadShape shape) throws IOException {
        if (!Files.isDirectory(directory)) {
            return Optional.empty();
        }
        List<Path> steps;
        try (var list = Files.list(directory)) {
            steps = list.filter(p -> p.getFileName().toString().startsWith("step-") && Files.isDirectory(p))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
        return steps.isEmpty() ? Optional.empty() : Optional.of(load(steps.get(steps.size() - 1), modelId, shape));
    }

    /**
     * Reads one checkpoint directory.
     *
     * @throws IOException when it is incomplete, of another format, or made for another model or head shape
     */
    public static Checkpoint load(Path checkpoint, String modelId, HeadShape shape) throws IOException {
        Path stateFile = checkpoint.resolve(STATE_FILE);
        if (!Files.isRegularFile(stateFile) || !Files.isRegularFile(checkpoint.resolve(HEAD_FILE))) {
            throw new IOException(checkpoint + " is not a complete checkpoint (needs " + STATE_FILE + " and " + HEAD_FILE + ")");
        }
        Map<?, ?> state = JSON.readValue(stateFile.toFile(), Map.class);
        if (!FORMAT.equals(state.get("format"))) {
            throw new IOException(stateFile + ": format " + state.get("format") + ", expected " + FORMAT);
        }
        String savedModel = String.valueOf(state.get("modelId"));
        if (!savedModel.equals(modelId)) {
            throw new IOException("checkpoint " + checkpoint + " was made for model " + savedModel
                    + ", not this policy's model " + modelId + "; refusing to load it");
        }
        HeadShape saved = new HeadShape(((Number) state.get("vocabSize")).intValue(),
                ((Number) state.get("hiddenSize")).intValue(), ((Number) state.get("loraRank")).intValue(),
                ((Number) state.get("loraAlpha")).doubleValue());
        if (!saved.equals(shape)) {
            throw new IOException("checkpoint " + checkpoint + " holds a head " + saved + ", but this run trains a head "
                    + shape + "; refusing to load it");
        }
        Safetensors.Contents contents = Safetensors.read(checkpoint.resolve(HEAD_FILE));
        Map<String, float[]> tensors = new LinkedHashMap<>();
        contents.tensors().forEach((name, t) -> tensors.put(name, t.values()));
        OptimizerState optimizer;
        try {
            optimizer = new OptimizerState(saved, ((Number) state.get("optimizerStep")).longValue(), tensors);
        } catch (IllegalArgumentException e) {
            throw new IOException(checkpoint + ": " + e.getMessage(), e);
        }
        LoopState loop = new LoopState(((Number) state.get("step")).longValue(), ((Number) state.get("epoch")).intValue(),
                ((Number) state.get("cursor")).intValue(), ((Number) state.get("seed")).longValue());
        return new Checkpoint(optimizer, loop, savedModel);
    }

    private static long[] dims(HeadShape shape, String name) {
        String base = name.startsWith("adam_") ? name.substring(7) : name;
        return switch (base) {
            case "weight" -> new long[] {shape.vocabSize(), shape.hiddenSize()};
            case "lora_a" -> new long[] {shape.loraRank(), shape.hiddenSize()};
            default -> new long[] {shape.vocabSize(), shape.loraRank()};
        };
    }
}
