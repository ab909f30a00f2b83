package io.github.mmupt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.adapter.AdapterState;
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
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints in a directory, one sub-directory per step ({@code step-00000012/}) holding
 * {@code head.safetensors} (parameters and AdamW moments, float32), {@code adapters.safetensors} when the trunk
 * trains adapters (each tensor flat, with its {@code adam_m.} and {@code adam_v.} moments) and {@code state.json}
 * (loop counters, model identity, head shape). Each is written to a temporary directory and renamed into place, so a crash
 * leaves either the complete checkpoint or none. Resuming from one reproduces an uninterrupted run bit for bit
 * on any number of cores (the native kernel's partitions and reduction order do not depend on its thread
 * count), given the same kernel instruction set.
 *
 * <pre>{@code
 * CheckpointStore store = new CheckpointStore(Path.of("runs/upt/checkpoints"));
 * Optional<Checkpoint> last = store.latest(policy.spec().modelId(), optimizer.shape());
 * }</pre>
 */
public final class CheckpointStore {

    static final String FORMAT = "mmupt-checkpoint/1";
    private static final String HEAD_FILE = "head.safetensors";
    private static final String ADAPTER_FILE = "adapters.safetensors";
    private static final String STATE_FILE = "state.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String TEMPORARY_PREFIX = ".tmp-step-";
    /** The names {@link #save} gives; anything else in the directory (backups, copies) is not a checkpoint. */
    private static final Pattern CANONICAL_NAME = Pattern.compile("step-\\d{8,}");
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

    private final Path directory;

    /**
     * A store in {@code directory} (created when the first checkpoint is saved).
     *
     * @param directory where the step directories go
     */
    public CheckpointStore(Path directory) {
        this.directory = directory;
    }

    /** {@return where the step directories go} */
    public Path directory() {
        return directory;
    }

    /**
     * Writes a checkpoint atomically; returns its directory.
     *
     * @param c the checkpoint
     * @return the directory it was written to
     * @throws IOException when a tensor holds a NaN or an infinity (such a state would poison every resume: it is
     *                     never written), a negative second moment, or the file system fails
     */
    public Path save(Checkpoint c) throws IOException {
        OptimizerState s = c.optimizer();
        checkValues(s, "refusing to write the checkpoint of step " + c.loop().step());
        Files.createDirectories(directory);
        Path target = directory.resolve(directoryName(c.loop().step()));
        Path tmp = Files.createTempDirectory(directory, TEMPORARY_PREFIX);
        try {
            Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
            for (String name : s.names()) {
                tensors.put(name, new Safetensors.Tensor(OptimizerState.dims(s.shape(), name), s.tensor(name)));
            }
            Safetensors.write(tmp.resolve(HEAD_FILE), tensors, Map.of("format", FORMAT, "model_id", c.modelId()));
            if (c.adapters().isPresent()) {
                AdapterState a = c.adapters().get();
                Map<String, Safetensors.Tensor> at = new LinkedHashMap<>();
                for (Map.Entry<String, float[]> e : a.tensors().entrySet()) {
                    checkFinite(e.getValue(), e.getKey(), "refusing to write the checkpoint of step " + c.loop().step());
                    at.put(e.getKey(), new Safetensors.Tensor(new long[] {e.getValue().length}, e.getValue()));
                }
                Safetensors.write(tmp.resolve(ADAPTER_FILE), at, Map.of("format", FORMAT, "model_id", c.modelId()));
            }
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("format", FORMAT);
            state.put("modelId", c.modelId());
            state.put("vocabSize", s.shape().vocabSize());
            state.put("hiddenSize", s.shape().hiddenSize());
            state.put("loraRank", s.shape().loraRank());
            state.put("loraAlpha", s.shape().loraAlpha());
            state.put("optimizerStep", s.step());
            state.put("adapters", c.adapters().isPresent());
            state.put("adapterStep", c.adapters().map(AdapterState::step).orElse(0L));
            if (c.adapters().isPresent()) {
                state.put("adapterKind", c.adapters().get().kind());
            }
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

    /**
     * Deletes the temporary directories ({@code .tmp-step-*}) that a process killed while saving leaves behind.
     * Call it when no other process writes to this store (a run does, at its start); returns how many it removed.
     *
     * @return how many were removed
     * @throws IOException when one cannot be deleted
     */
    public int deleteStaleTemporaries() throws IOException {
        if (!Files.isDirectory(directory)) {
            return 0;
        }
        List<Path> stale;
        try (var list = Files.list(directory)) {
            stale = list.filter(p -> p.getFileName().toString().startsWith(TEMPORARY_PREFIX)).toList();
        }
        for (Path p : stale) {
            AtomicFiles.deleteTree(p);
        }
        if (!stale.isEmpty()) {
            LOG.info("removed {} temporary checkpoint director{} left by an interrupted save in {}", stale.size(),
                    stale.size() == 1 ? "y" : "ies", directory);
        }
        return stale.size();
    }

    /**
     * The newest complete checkpoint, checked against the model and head it must fit; empty if there is none.
     *
     * <p>Only directories named exactly {@code step-NNNNNNNN} count ({@code step-00000003-backup} is ignored), and
     * they are ordered by that number. A newest checkpoint that is incomplete (a file missing or empty, as a copy
     * interrupted by hand leaves it) is passed over with a warning for the next older one; when none is complete,
     * that is an error (starting afresh would throw the training away). A checkpoint that is
     * complete but wrong (another model or head, a step that disagrees with its name, corrupt values) is an
     * error: resuming from an older one instead would silently lose training.
     *
     * @param modelId the model the run trains
     * @param shape the head the run trains
     * @return the checkpoint, or empty when there is none
     * @throws IOException when the newest complete one is wrong (see above) or none is complete
     */
    public Optional<Checkpoint> latest(String modelId, HeadShape shape) throws IOException {
        if (!Files.isDirectory(directory)) {
            return Optional.empty();
        }
        List<Path> steps;
        try (var list = Files.list(directory)) {
            steps = list.filter(p -> CANONICAL_NAME.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p))
                    .sorted(Comparator.comparing((Path p) -> stepOf(p)).reversed()).toList();
        }
        List<String> skipped = new java.util.ArrayList<>();
        for (Path candidate : steps) {
            Optional<String> missing = incompleteness(candidate);
            if (missing.isPresent()) {
                LOG.warn("skipping the incomplete checkpoint {} ({}); trying the next older one", candidate,
                        missing.get());
                skipped.add(candidate.getFileName() + " (" + missing.get() + ")");
                continue;
            }
            return Optional.of(load(candidate, modelId, shape));
        }
        if (!skipped.isEmpty()) {
            // starting afresh would silently throw the training away: say so instead
            throw new IOException(directory + " holds no complete checkpoint, only incomplete ones: " + skipped
                    + "; not a complete checkpoint to resume from (delete them to start afresh)");
        }
        return Optional.empty();
    }

    /**
     * Reads one checkpoint directory.
     *
     * @param checkpoint a step directory
     * @param modelId the model the run trains
     * @param shape the head the run trains
     * @return the checkpoint
     * @throws IOException when it is incomplete, of another format, made for another model or head shape, its
     *                     step disagrees with its directory name, a field of {@code state.json} is missing or of the
     *                     wrong type, or a tensor holds non-finite values or negative second moments; the message
     *                     names the file and what was wrong
     */
    public static Checkpoint load(Path checkpoint, String modelId, HeadShape shape) throws IOException {
        Optional<String> missing = incompleteness(checkpoint);
        if (missing.isPresent()) {
            throw new IOException(checkpoint + " is not a complete checkpoint (needs " + STATE_FILE + " and "
                    + HEAD_FILE + "; " + missing.get() + ")");
        }
        Path stateFile = checkpoint.resolve(STATE_FILE);
        StateFields state = StateFields.read(stateFile);
        String format = state.text("format");
        if (!FORMAT.equals(format)) {
            throw new IOException(stateFile + ": format " + format + ", expected " + FORMAT);
        }
        String savedModel = state.text("modelId");
        if (!savedModel.equals(modelId)) {
            throw new IOException("checkpoint " + checkpoint + " was made for model " + savedModel
                    + ", not this policy's model " + modelId + "; refusing to load it");
        }
        HeadShape saved;
        try {
            saved = new HeadShape(state.integer("vocabSize"), state.integer("hiddenSize"), state.integer("loraRank"),
                    state.real("loraAlpha"));
        } catch (IllegalArgumentException e) {
            throw new IOException(stateFile + ": the head shape it records is invalid: " + e.getMessage(), e);
        }
        if (!saved.equals(shape)) {
            throw new IOException("checkpoint " + checkpoint + " holds a head " + saved + ", but this run trains a head "
                    + shape + "; refusing to load it");
        }
        LoopState loop;
        try {
            loop = new LoopState(state.whole("step"), state.integer("epoch"), state.integer("cursor"),
                    state.whole("seed"));
        } catch (IllegalArgumentException e) {
            throw new IOException(stateFile + ": " + e.getMessage(), e);
        }
        String name = checkpoint.getFileName().toString();
        if (CANONICAL_NAME.matcher(name).matches() && stepOf(checkpoint) != loop.step()) {
            throw new IOException(stateFile + ": step " + loop.step() + " disagrees with its directory name " + name
                    + "; refusing to resume from a misplaced checkpoint");
        }
        long optimizerStep = state.whole("optimizerStep");
        Path headFile = checkpoint.resolve(HEAD_FILE);
        Safetensors.Contents contents = Safetensors.read(headFile);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Safetensors.Tensor> e : contents.tensors().entrySet()) {
            long[] expected;
            try {
                expected = OptimizerState.dims(saved, e.getKey());
            } catch (IllegalArgumentException unknown) {
                throw new IOException(headFile + ": unexpected tensor " + e.getKey() + " for a head of " + saved, unknown);
            }
            if (!java.util.Arrays.equals(expected, e.getValue().shape())) {
                throw new IOException(headFile + ": tensor " + e.getKey() + " has shape "
                        + java.util.Arrays.toString(e.getValue().shape()) + ", a head of " + saved + " needs "
                        + java.util.Arrays.toString(expected));
            }
            tensors.put(e.getKey(), e.getValue().values());
        }
        OptimizerState optimizer;
        try {
            optimizer = new OptimizerState(saved, optimizerStep, tensors);
        } catch (IllegalArgumentException e) {
            throw new IOException(headFile + ": " + e.getMessage(), e);
        }
        checkValues(optimizer, headFile + " is corrupt");
        Optional<AdapterState> adapters = Optional.empty();
        if (state.flag("adapters")) {
            Path adapterFile = checkpoint.resolve(ADAPTER_FILE);
            if (!Files.isRegularFile(adapterFile)) {
                throw new IOException(stateFile + " records adapters but " + adapterFile + " is missing");
            }
            Map<String, float[]> at = new LinkedHashMap<>();
            for (Map.Entry<String, Safetensors.Tensor> e : Safetensors.read(adapterFile).tensors().entrySet()) {
                checkFinite(e.getValue().values(), e.getKey(), adapterFile + " is corrupt");
                at.put(e.getKey(), e.getValue().values());
            }
            try {
                adapters = Optional.of(new AdapterState(state.whole("adapterStep"), state.text("adapterKind"), at));
            } catch (IllegalArgumentException e) {
                throw new IOException(stateFile + ": " + e.getMessage(), e);
            }
        }
        return new Checkpoint(optimizer, loop, savedModel, adapters);
    }

    /** Why a checkpoint directory is incomplete (a file missing or empty), or empty when it is complete. */
    private static Optional<String> incompleteness(Path checkpoint) throws IOException {
        for (String file : List.of(STATE_FILE, HEAD_FILE)) {
            Path p = checkpoint.resolve(file);
            if (!Files.isRegularFile(p)) {
                return Optional.of(file + " is missing");
            }
            if (Files.size(p) == 0) {
                return Optional.of(file + " is empty");
            }
        }
        return Optional.empty();
    }

    private static void checkFinite(float[] values, String name, String context) throws IOException {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i]) || (name.startsWith(AdapterState.SECOND_MOMENT) && values[i] < 0)) {
                throw new IOException(context + ": adapter tensor " + name + "[" + i + "] is " + values[i]);
            }
        }
    }

    /** Finite values everywhere and non-negative second moments: anything else poisons AdamW's next step. */
    private static void checkValues(OptimizerState s, String context) throws IOException {
        try {
            s.requireUsable();
        } catch (IllegalArgumentException e) {
            throw new IOException(context + ": " + e.getMessage(), e);
        }
    }

    static String directoryName(long step) {
        return String.format("step-%08d", step);
    }

    private static long stepOf(Path checkpoint) {
        return Long.parseLong(checkpoint.getFileName().toString().substring("step-".length()));
    }
}
