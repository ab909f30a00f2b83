package io.github.mmupt.onnx.lora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.checkpoint.Safetensors;
import io.github.mmupt.onnx.model.FloatTensor;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Trained LoRA adapters out of the library, in the two forms users deploy: merged into the decoder's weights
 * ({@code W + (alpha/r) A^T B^T} in the {@code MatMul(X, W)} layout, which is PEFT's {@code W + s B A} transposed),
 * so plain ONNX Runtime runs the improved model with no extra inputs; and alone, as PEFT's
 * {@code adapter_model.safetensors} + {@code adapter_config.json}, with PEFT's tensor names
 * ({@code base_model.model.<module>.lora_A.weight} [r x in], {@code ...lora_B.weight} [out x r]).
 *
 * <pre>{@code
 * OnnxModel merged = LoraExport.merged(decoder, targets, settings, adapters.parameters().values());
 * LoraExport.writePeft(dir.resolve("adapter"), targets, settings, adapters.parameters().values(), "Qwen/Qwen2-VL-2B");
 * }</pre>
 */
public final class LoraExport {

    /** PEFT's adapter weights file. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** PEFT's adapter configuration file. */
    public static final String CONFIG_FILE = "adapter_config.json";
    /** The prefix PEFT's saved names carry (its wrapper's {@code base_model.model}). */
    public static final String PEFT_PREFIX = "base_model.model.";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private LoraExport() {
    }

    /**
     * The decoder with every target's adapter merged into its weight.
     *
     * @param decoder the decoder the targets were found in (its weights are the base weights)
     * @param targets the adapted projections
     * @param settings rank and alpha
     * @param adapters every target's A and B by input name ({@link LoraTarget#aInput()}, {@link LoraTarget#bInput()})
     * @return the merged decoder, with no adapter inputs
     * @throws IOException when a weight is missing or not float32
     */
    public static OnnxModel merged(OnnxModel decoder, List<LoraTarget> targets, LoraSettings settings,
            Map<String, float[]> adapters) throws IOException {
        int r = settings.rank();
        double scale = settings.scale();
        Map<String, FloatTensor> replaced = new LinkedHashMap<>();
        for (LoraTarget t : targets) {
            float[] a = tensor(adapters, t.aInput(), (long) r * t.inFeatures());
            float[] b = tensor(adapters, t.bInput(), (long) t.outFeatures() * r);
            FloatTensor w = decoder.initializer(t.weight());
            float[] merged = w.values();
            int in = t.inFeatures();
            int out = t.outFeatures();
            if (merged.length != (long) in * out) {
                throw new IOException(decoder.source() + ": weight " + t.weight() + " has " + merged.length
                        + " values, the target [in=" + in + " x out=" + out + "]");
            }
            // W[i][o] += s sum_k A[k][i] B[o][k], in double
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < out; o++) {
                    double sum = 0;
                    for (int k = 0; k < r; k++) {
                        sum += (double) a[k * in + i] * b[o * r + k];
                    }
                    merged[i * out + o] = (float) (merged[i * out + o] + scale * sum);
                }
            }
            replaced.put(t.weight(), FloatTensor.of(w.dims(), merged));
        }
        return decoder.withInitializerValues(replaced);
    }

    /**
     * Writes the adapters alone in PEFT's format into {@code directory} (written beside it and renamed into place).
     *
     * @param directory the adapter directory to write
     * @param targets the adapted projections
     * @param settings rank, alpha and layers
     * @param adapters every target's A and B by input name
     * @param baseModel what {@code base_model_name_or_path} records (the base model's name or directory)
     * @throws IOException when writing fails
     */
    public static void writePeft(Path directory, List<LoraTarget> targets, LoraSettings settings,
            Map<String, float[]> adapters, String baseModel) throws IOException {
        int r = settings.rank();
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        TreeSet<String> modules = new TreeSet<>();
        TreeSet<Integer> layers = new TreeSet<>();
        for (LoraTarget t : targets) {
            tensors.put(PEFT_PREFIX + t.module() + ".lora_A.weight", new Safetensors.Tensor(new long[] {r, t.inFeatures()},
                    tensor(adapters, t.aInput(), (long) r * t.inFeatures())));
            tensors.put(PEFT_PREFIX + t.module() + ".lora_B.weight", new Safetensors.Tensor(new long[] {t.outFeatures(), r},
                    tensor(adapters, t.bInput(), (long) t.outFeatures() * r)));
            modules.add(t.module().substring(t.module().lastIndexOf('.') + 1));
            layers.add(t.layer());
        }
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("peft_type", "LORA");
        config.put("task_type", "CAUSAL_LM");
        config.put("base_model_name_or_path", baseModel);
        config.put("r", r);
        config.put("lora_alpha", settings.alpha());
        config.put("lora_dropout", 0.0);
        config.put("target_modules", new ArrayList<>(modules));
        config.put("layers_to_transform", new ArrayList<>(layers));
        config.put("bias", "none");
        config.put("fan_in_fan_out", false);
        config.put("use_rslora", false);
        config.put("use_dora", false);
        config.put("inference_mode", true);
        Path parent = directory.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, directory.getFileName() + ".tmp");
        try {
            Safetensors.write(tmp.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
            AtomicFiles.write(tmp.resolve(CONFIG_FILE), out -> JSON.writeValue(out, config));
            AtomicFiles.move(tmp, directory);
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    private static float[] tensor(Map<String, float[]> adapters, String name, long size) throws IOException {
        float[] v = adapters.get(name);
        if (v == null) {
            throw new IOException("no adapter tensor " + name + " among " + adapters.size());
        }
        if (v.length != size) {
            throw new IOException("adapter tensor " + name + " has " + v.length + " values, expected " + size);
        }
        return v;
    }
}
