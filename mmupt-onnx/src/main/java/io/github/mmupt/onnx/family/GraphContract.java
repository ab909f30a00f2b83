package io.github.mmupt.onnx.family;

import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.model.TensorInfo;
import java.io.IOException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The declared inputs and outputs of a model's graphs against its family's names and dimensions, checked when
 * the model opens: a graph that does not fit fails there, naming the file, the value and both shapes, not in
 * the middle of a training step. The embedding and decoder contracts are the same for every family (names
 * come from {@link GraphNames}); a family checks its vision graph with {@link #expect}.
 *
 * <pre>{@code
 * GraphContract.checkEmbedding(family, embedModel);
 * GraphContract.checkDecoder(family, decoderModel);
 * }</pre>
 */
public final class GraphContract {

    private GraphContract() {
    }

    /**
     * The embedding graph: int64 ids [B, S] in, float [B, S, d] out.
     *
     * @param family the family
     * @param embed the embedding graph
     * @throws IOException on a mismatch
     */
    public static void checkEmbedding(ModelFamily family, OnnxModel embed) throws IOException {
        GraphNames io = family.names();
        expect(embed, true, io.inputIds(), "INT64", -1, -1);
        expect(embed, false, io.inputsEmbeds(), FLOATING, -1, -1, family.shape().hiddenSize());
    }

    /**
     * The decoder: embeddings, mask and positions in, one past key and value per layer
     * [B, kvHeads, past, headDim] in and present out, the logits [B, S, V] out, and no more layers than the shape
     * says.
     *
     * @param family the family
     * @param decoder the decoder as the file has it (before head surgery)
     * @throws IOException on a mismatch
     */
    public static void checkDecoder(ModelFamily family, OnnxModel decoder) throws IOException {
        GraphNames io = family.names();
        TrunkShape m = family.shape();
        expect(decoder, true, io.inputsEmbeds(), FLOATING, -1, -1, m.hiddenSize());
        expect(decoder, true, io.attentionMask(), "INT64", -1, -1);
        if (family.positionAxes() == 1) {
            expect(decoder, true, io.positionIds(), "INT64", -1, -1);
        } else {
            expect(decoder, true, io.positionIds(), "INT64", family.positionAxes(), -1, -1);
        }
        String kv = null;
        for (int i = 0; i < m.layers(); i++) {
            for (String name : new String[] {io.pastKey(i), io.pastValue(i), io.presentKey(i), io.presentValue(i)}) {
                boolean past = name.equals(io.pastKey(i)) || name.equals(io.pastValue(i));
                String type = expect(decoder, past, name, FLOATING, -1, m.kvHeads(), -1, m.headDim()).elementType();
                if (kv == null) {
                    kv = type;
                } else if (!type.equals(kv)) {
                    // the cache is fed back as it comes: every layer must keep it in one type
                    throw new IOException(decoder.source() + ": " + name + " is " + type + " but " + io.pastKey(0)
                            + " is " + kv + "; past and present keys and values must share one element type");
                }
            }
        }
        expect(decoder, false, io.logits(), FLOATING, -1, -1, m.vocabSize());
        // more past inputs than the shape's layers would fail only at the first decode step: refuse now
        String[] parts = io.pastKey().split("%d", -1);
        Pattern pastKey = Pattern.compile(Pattern.quote(parts[0]) + "(\\d+)" + Pattern.quote(parts[1]));
        long graphLayers = decoder.inputs().stream().filter(t -> pastKey.matcher(t.name()).matches()).count();
        if (graphLayers != m.layers()) {
            throw new IOException(decoder.source() + " has " + graphLayers + " past-key inputs (" + io.pastKey()
                    + ") but the " + family.name() + " configuration says layers = " + m.layers());
        }
    }

    /** The element type for a float tensor that may be float32 or float16 (an fp16 export's). */
    public static final String FLOATING = "FLOAT or FLOAT16";

    /**
     * Fails when the value is missing, has another element type, or a fixed dimension that differs.
     *
     * @param model the graph
     * @param input true for an input, false for an output
     * @param name the value's name
     * @param type the element type, as {@link TensorInfo#elementType()} spells it, or {@link #FLOATING}
     * @param dims the expected dimensions, -1 where any size will do
     * @return the value as the graph declares it
     * @throws IOException naming the graph, the value, what it declares and what was expected
     */
    public static TensorInfo expect(OnnxModel model, boolean input, String name, String type, long... dims)
            throws IOException {
        List<TensorInfo> declared = input ? model.inputs() : model.outputs();
        String kind = input ? "input " : "output ";
        TensorInfo info = declared.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IOException(model.source() + " has no " + kind + name
                        + " (it has " + declared.stream().map(TensorInfo::name).toList() + ")"));
        String expected = expectedText(dims);
        boolean typeOk = type.equals(FLOATING) ? info.elementType().equals("FLOAT") || info.elementType().equals("FLOAT16")
                : info.elementType().equals(type);
        if (!typeOk) {
            throw new IOException(model.source() + ": " + kind + name + " is " + info.elementType() + " "
                    + info.shapeText() + " but the policy expects " + type + " " + expected);
        }
        boolean mismatch = !info.dims().isEmpty() && info.dims().size() != dims.length;
        for (int i = 0; !mismatch && i < info.dims().size(); i++) {
            mismatch = dims[i] >= 0 && info.dims().get(i) >= 0 && info.dims().get(i) != dims[i];
        }
        if (mismatch) {
            throw new IOException(model.source() + ": " + kind + name + " has shape " + info.shapeText()
                    + " but the model's configuration implies " + expected);
        }
        return info;
    }

    private static String expectedText(long... dims) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            sb.append(i > 0 ? ", " : "").append(dims[i] >= 0 ? String.valueOf(dims[i]) : "?");
        }
        return sb.append(']').toString();
    }
}
