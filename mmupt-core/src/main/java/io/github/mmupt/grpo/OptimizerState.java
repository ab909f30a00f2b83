package io.github.mmupt.grpo;

import io.github.mmupt.head.HeadShape;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a {@link GrpoOptimizer} needs to continue exactly where it was: the head's parameters, AdamW's
 * moments and its step count, as float32 tensors by name.
 *
 * <p>Names: {@code weight} (W, or the frozen W0 of a LoRA), {@code lora_a}, {@code lora_b}; AdamW moments of
 * the trained tensors as {@code adam_m.<name>} and {@code adam_v.<name>}. Shapes follow {@link HeadShape}.
 * Arrays are copied in and out.
 */
public final class OptimizerState {

    private final HeadShape shape;
    private final long step;
    private final Map<String, float[]> tensors;

    /**
     * A state, checked against the shape: every expected tensor present with its size, nothing else.
     *
     * @param shape the head's shape
     * @param step AdamW updates applied
     * @param tensors the tensors by name (copied)
     */
    public OptimizerState(HeadShape shape, long step, Map<String, float[]> tensors) {
        if (shape == null || tensors == null) {
            throw new IllegalArgumentException("shape and tensors must not be null");
        }
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        Map<String, float[]> copy = new LinkedHashMap<>();
        for (String name : expectedNames(shape)) {
            float[] values = tensors.get(name);
            long expected = elements(shape, name);
            if (values == null) {
                throw new IllegalArgumentException("optimizer state lacks tensor " + name + " (a head of " + shape + " needs "
                        + expectedNames(shape) + ")");
            }
            if (values.length != expected) {
                throw new IllegalArgumentException("tensor " + name + " has " + values.length + " values, a head of "
                        + shape + " needs " + expected);
            }
            copy.put(name, values.clone());
        }
        for (String name : tensors.keySet()) {
            if (!copy.containsKey(name)) {
                throw new IllegalArgumentException("unexpected tensor " + name + " for a head of " + shape);
            }
        }
        this.shape = shape;
        this.step = step;
        this.tensors = Collections.unmodifiableMap(copy);
    }

    /**
     * The tensor names a head of this shape has, in a fixed order.
     *
     * @param shape the head's shape
     * @return the names
     */
    public static List<String> expectedNames(HeadShape shape) {
        List<String> trained = trainedNames(shape);
        List<String> names = new java.util.ArrayList<>();
        names.add("weight");
        if (shape.isLora()) {
            names.addAll(trained);
        }
        for (String t : trained) {
            names.add("adam_m." + t);
            names.add("adam_v." + t);
        }
        return names;
    }

    /**
     * The tensors AdamW updates: [weight] for a full head, [lora_a, lora_b] for a LoRA.
     *
     * @param shape the head's shape
     * @return the names
     */
    public static List<String> trainedNames(HeadShape shape) {
        return shape.isLora() ? List.of("lora_a", "lora_b") : List.of("weight");
    }

    /**
     * Elements of a named tensor of a head of this shape.
     *
     * @param shape the head's shape
     * @param name a tensor name
     * @return its element count
     */
    public static long elements(HeadShape shape, String name) {
        long[] dims = dims(shape, name);
        return dims[0] * dims[1];
    }

    /**
     * Dimensions of a named tensor of a head of this shape: [V, d] for {@code weight}, [r, d] for {@code lora_a},
     * [V, r] for {@code lora_b}, and those of the tensor an {@code adam_m.} or {@code adam_v.} moment belongs to.
     *
     * @param shape the head's shape
     * @param name a tensor name
     * @return its two dimensions
     * @throws IllegalArgumentException for a name no head has
     */
    public static long[] dims(HeadShape shape, String name) {
        String base = name.startsWith("adam_m.") || name.startsWith("adam_v.") ? name.substring(7) : name;
        return switch (base) {
            case "weight" -> new long[] {shape.vocabSize(), shape.hiddenSize()};
            case "lora_a" -> new long[] {shape.loraRank(), shape.hiddenSize()};
            case "lora_b" -> new long[] {shape.vocabSize(), shape.loraRank()};
            default -> throw new IllegalArgumentException("unknown head tensor " + name);
        };
    }

    /**
     * Checks that the state can be trained from: every value finite and every second moment ({@code adam_v.*})
     * non-negative. A state that fails would turn the weights NaN at the first AdamW step.
     *
     * @throws IllegalArgumentException naming the tensor, the element and the value
     */
    public void requireUsable() {
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            float[] values = e.getValue();
            boolean secondMoment = e.getKey().startsWith("adam_v.");
            for (int i = 0; i < values.length; i++) {
                float v = values[i];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("tensor " + e.getKey() + " holds " + v + " at element " + i);
                }
                if (secondMoment && v < 0) {
                    throw new IllegalArgumentException("tensor " + e.getKey() + " (AdamW's second moment) holds the "
                            + "negative value " + v + " at element " + i);
                }
            }
        }
    }

    /** {@return the head's shape} */
    public HeadShape shape() {
        return shape;
    }

    /** {@return the AdamW updates applied} */
    public long step() {
        return step;
    }

    /**
     * Tensor names, in order.
     *
     * @return the names
     */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /**
     * A copy of one tensor.
     *
     * @param name a tensor name
     * @return its values
     */
    public float[] tensor(String name) {
        float[] t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named " + name + " (have " + tensors.keySet() + ")");
        }
        return t.clone();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OptimizerState other) || !shape.equals(other.shape) || step != other.step
                || !tensors.keySet().equals(other.tensors.keySet())) {
            return false;
        }
        for (String name : tensors.keySet()) {
            if (!java.util.Arrays.equals(tensors.get(name), other.tensors.get(name))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return shape.hashCode() * 31 + Long.hashCode(step);
    }

    @Override
    public String toString() {
        return "OptimizerState[" + shape + ", step " + step + "]";
    }
}
