package io.github.mmupt.adapter;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's copy of a trunk's adapters: each tensor by name, its AdamW moments as {@code adam_m.<name>} and
 * {@code adam_v.<name>}, and the number of updates applied. Float32 throughout, the precision the adapters are
 * kept in, so restoring a state continues bit for bit.
 *
 * @param step updates applied so far
 * @param kind what the adapters are, beyond their names and sizes (a LoRA's rank and alpha): a state restores only
 *             into adapters of the same kind
 * @param tensors every tensor, moments included, by name (copied; iteration order kept)
 */
public record AdapterState(long step, String kind, Map<String, float[]> tensors) {

    /** The prefix of a first moment's name. */
    public static final String FIRST_MOMENT = "adam_m.";

    /** The prefix of a second moment's name. */
    public static final String SECOND_MOMENT = "adam_v.";

    /**
     * Checks the step and copies the tensors.
     *
     * @param step the component {@code step}, described with the class
     * @param kind the component {@code kind}, described with the class
     * @param tensors the component {@code tensors}, described with the class
     */
    public AdapterState {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (kind == null || kind.isBlank()) {
            throw new IllegalArgumentException("kind must be a description, e.g. \"LoRA rank 1, alpha 32.0\"");
        }
        if (tensors == null) {
            throw new IllegalArgumentException("tensors must not be null");
        }
        Map<String, float[]> copy = new LinkedHashMap<>();
        tensors.forEach((name, values) -> copy.put(name, values.clone()));
        tensors = java.util.Collections.unmodifiableMap(copy);
    }

    /**
     * One tensor (a copy).
     *
     * @param name its name
     * @return its values
     * @throws IllegalArgumentException when the state has no such tensor
     */
    public float[] tensor(String name) {
        float[] t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the adapter state has no tensor " + name + " (it has " + tensors.size()
                    + " tensors)");
        }
        return t.clone();
    }

    /** Equal when the steps, the names in order and every value are (records would compare the arrays by identity). */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof AdapterState other) || step != other.step || !kind.equals(other.kind)
                || !List.copyOf(tensors.keySet()).equals(List.copyOf(other.tensors.keySet()))) {
            return false;
        }
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            if (!java.util.Arrays.equals(e.getValue(), other.tensors.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = 31 * Long.hashCode(step) + kind.hashCode();
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            h = 31 * h + e.getKey().hashCode() + 17 * java.util.Arrays.hashCode(e.getValue());
        }
        return h;
    }

    @Override
    public String toString() {
        return "AdapterState[step=" + step + ", " + kind + ", " + tensors.size() + " tensors]";
    }
}
