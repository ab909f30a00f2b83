package io.github.mmupt.onnx.model;

import java.util.List;

/**
 * A graph input or output as declared: name, element type and shape, where a dimension is its size or -1
 * when it is symbolic (named in {@code dimNames}) or unknown.
 *
 * @param name        the value's name
 * @param elementType ONNX element type name, e.g. {@code FLOAT}, {@code INT64}
 * @param dims        sizes, -1 for symbolic or unknown dimensions; empty when the rank is unknown
 * @param dimNames    the symbolic names, "" where a dimension has a size
 */
public record TensorInfo(String name, String elementType, List<Long> dims, List<String> dimNames) {

    /**
     * Copies the dimension lists; a negative dimension is symbolic (see {@code dimNames}).
     *
     * @param name the component {@code name}, described with the class
     * @param elementType the component {@code elementType}, described with the class
     * @param dims the component {@code dims}, described with the class
     * @param dimNames the component {@code dimNames}, described with the class
     */
    public TensorInfo {
        dims = List.copyOf(dims);
        dimNames = List.copyOf(dimNames);
    }

    /**
     * The shape as text, symbolic dimensions by name: {@code [batch, 4, past, 16]}.
     *
     * @return for example {@code FLOAT [?, 3, 32, 32]}
     */
    public String shapeText() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(dims.get(i) >= 0 ? String.valueOf(dims.get(i)) : dimNames.get(i).isEmpty() ? "?" : dimNames.get(i));
        }
        return sb.append(']').toString();
    }
}
