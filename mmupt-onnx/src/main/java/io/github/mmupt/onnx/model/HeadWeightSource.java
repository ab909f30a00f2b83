package io.github.mmupt.onnx.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The LM head's weight as real exports store it, read back as a float32 [V x d] matrix: a separate float32 or
 * float16 initializer, the token embeddings reused through a Transpose (a tied head) or by a Gemm with
 * {@code transB = 1}, an int8/uint8 weight behind {@code DequantizeLinear}, or ONNX Runtime's 4- and 8-bit
 * {@code MatMulNBits} (com.microsoft). Training starts from this float32 copy; the stored weights are never
 * changed in place.
 */
final class HeadWeightSource {

    /**
     * The head's weight, read.
     *
     * @param vxd          the weight as [V x d], float32, or null where only its shape was asked for
     * @param vocabSize    V
     * @param hiddenSize   d
     * @param description  how the model stores it, for messages and the export's log line
     * @param chainOutputs values of the nodes between the stored weight and the head node (Transpose, Cast,
     *                     DequantizeLinear), which only the head may use
     * @param leaf         the initializer the weight comes from
     * @param tied         whether that initializer is also used outside the head (the token embeddings)
     * @param plainFloat   a float32 initializer read directly by the head node (replaced in place on export)
     * @param computeType  the element type the head node computes in, so that of the hidden state it reads
     *                     ({@code TensorProto.DataType} FLOAT or FLOAT16)
     */
    record Resolved(FloatTensor vxd, int vocabSize, int hiddenSize, String description, List<String> chainOutputs, String leaf, boolean tied,
            boolean plainFloat, int computeType) {
    }

    private HeadWeightSource() {
    }

    /**
     * The weight of head node {@code head} (MatMul, Gemm with transB, or MatMulNBits); its values are read only
     * when {@code read} (locating the head needs its shape, not gigabytes of weights).
     */
    static Resolved resolve(OnnxModel model, NodeProto head, boolean read) throws IOException {
        GraphProto g = model.graph();
        List<String> chain = new ArrayList<>();
        List<String> steps = new ArrayList<>();
        FloatTensor vxd;
        long[] dims;
        String leaf;
        int type;
        switch (head.getOpType()) {
            case "MatMulNBits" -> {
                leaf = head.getInput(1);
                vxd = read ? nBits(model, head) : null;
                dims = new long[] {intAttribute(head, "N", -1), intAttribute(head, "K", -1)};
                type = required(model, head.getInput(2), "MatMulNBits' scales").getDataType();
                steps.add((int) intAttribute(head, "bits", 4) + "-bit MatMulNBits (block " + intAttribute(head, "block_size", 0)
                        + ")");
            }
            case "Gemm" -> {
                Value w = value(model, head.getInput(1), chain, steps, read);
                vxd = w.tensor();
                dims = w.dims();
                leaf = w.leaf();
                type = w.type();
            }
            default -> { // MatMul: the weight is [d x V]
                Value w = value(model, head.getInput(1), chain, steps, read);
                vxd = read ? w.tensor().transpose() : null;
                dims = reversed(w.dims());
                leaf = w.leaf();
                type = w.type();
            }
        }
        if (dims.length != 2 || dims[0] <= 0 || dims[1] <= 0 || dims[0] > Integer.MAX_VALUE
                || dims[1] > Integer.MAX_VALUE) {
            throw new IOException(model.source() + ": the head weight " + leaf + " has shape "
                    + java.util.Arrays.toString(dims) + ", expected 2 positive dimensions [V x d]");
        }
        Set<String> inHead = new HashSet<>(chain);
        inHead.addAll(head.getOutputList());
        boolean tied = g.getNodeList().stream().anyMatch(n -> n.getInputList().contains(leaf)
                && n.getOutputList().stream().noneMatch(inHead::contains));
        boolean plain = chain.isEmpty() && !head.getOpType().equals("MatMulNBits") && !tied
                && initializer(g, leaf).map(t -> t.getDataType() == TensorProto.DataType.FLOAT_VALUE).orElse(false);
        String description = (tied ? "tied to " + leaf : "a separate " + leaf)
                + (steps.isEmpty() ? (type == TensorProto.DataType.FLOAT16_VALUE ? " (float16)" : " (float32)")
                        : " through " + String.join(", ", steps));
        if (type != TensorProto.DataType.FLOAT_VALUE && type != TensorProto.DataType.FLOAT16_VALUE) {
            throw new IOException(model.source() + ": the head computes in " + TensorProto.DataType.forNumber(type)
                    + "; expected FLOAT or FLOAT16");
        }
        return new Resolved(vxd, (int) dims[0], (int) dims[1], description, List.copyOf(chain), leaf, tied, plain,
                type);
    }

    private static long[] reversed(long[] dims) {
        long[] out = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dims[dims.length - 1 - i];
        }
        return out;
    }

    /** A value's shape, its element type, and its values when they were asked for (else null). */
    private record Value(long[] dims, FloatTensor tensor, String leaf, int type) {
    }

    /** A value feeding the head, through Identity, Transpose, Cast and DequantizeLinear, to its initializer. */
    private static Value value(OnnxModel model, String name, List<String> chain, List<String> steps, boolean read)
            throws IOException {
        GraphProto g = model.graph();
        Optional<TensorProto> init = initializer(g, name);
        if (init.isPresent()) {
            TensorProto t = init.get();
            if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE && t.getDataType() != TensorProto.DataType.FLOAT16_VALUE) {
                throw new IOException(model.source() + ": initializer " + t.getName() + " has element type "
                        + TensorProto.DataType.forNumber(t.getDataType()) + "; expected FLOAT or FLOAT16");
            }
            return new Value(dims(t), read ? floats(model, t) : null, name, t.getDataType());
        }
        NodeProto n = g.getNodeList().stream().filter(x -> x.getOutputList().contains(name)).findFirst()
                .orElseThrow(() -> new IOException(model.source() + ": the head weight " + name + " is neither an "
                        + "initializer nor computed by a node (a graph input cannot be trained)"));
        if (chain.size() > 8) {
            throw new IOException(model.source() + ": more than 8 nodes between the head and its weight at " + name);
        }
        chain.add(name);
        switch (n.getOpType()) {
            case "Identity" -> {
                return value(model, n.getInput(0), chain, steps, read);
            }
            case "Transpose" -> {
                long[] perm = intsAttribute(n, "perm");
                if (perm.length != 0 && !(perm.length == 2 && perm[0] == 1 && perm[1] == 0)) {
                    throw new IOException(model.source() + ": the head weight's Transpose " + n.getName() + " has perm "
                            + java.util.Arrays.toString(perm) + ", expected [1, 0]");
                }
                steps.add("Transpose");
                Value in = value(model, n.getInput(0), chain, steps, read);
                return new Value(reversed(in.dims()), read ? in.tensor().transpose() : null, in.leaf(), in.type());
            }
            case "Cast" -> {
                if (intAttribute(n, "to", 0) != TensorProto.DataType.FLOAT_VALUE) {
                    throw new IOException(model.source() + ": the head weight's Cast " + n.getName() + " casts to "
                            + TensorProto.DataType.forNumber((int) intAttribute(n, "to", 0)) + ", expected FLOAT");
                }
                steps.add("Cast");
                Value in = value(model, n.getInput(0), chain, steps, read);
                return new Value(in.dims(), in.tensor(), in.leaf(), TensorProto.DataType.FLOAT_VALUE);
            }
            case "DequantizeLinear" -> {
                steps.add("DequantizeLinear");
                return new Value(dims(required(model, n.getInput(0), "DequantizeLinear's input")),
                        read ? dequantize(model, n) : null, n.getInput(0),
                        required(model, n.getInput(1), "DequantizeLinear's scale").getDataType());
            }
            default -> throw new IOException(model.source() + ": the head weight " + name + " comes from a "
                    + n.getOpType() + " node (" + n.getName() + "); expected an initializer, optionally through "
                    + "Transpose, Cast, DequantizeLinear or Identity");
        }
    }

    /** y = (x - zero_point) * scale, per tensor or along {@code axis} (default 1), for int8/uint8 x. */
    private static FloatTensor dequantize(OnnxModel model, NodeProto n) throws IOException {
        GraphProto g = model.graph();
        TensorProto x = required(model, n.getInput(0), "DequantizeLinear's input");
        TensorProto scale = required(model, n.getInput(1), "DequantizeLinear's scale");
        TensorProto zp = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? required(model, n.getInput(2),
                "DequantizeLinear's zero point") : null;
        long[] dims = dims(x);
        int[] q = integers(model, x);
        float[] s = floats(model, scale).values();
        int[] z = zp == null ? new int[s.length] : integers(model, zp);
        if (dims.length != 2 || z.length != s.length) {
            throw new IOException(model.source() + ": DequantizeLinear " + n.getName() + " of the head: expected a 2-D "
                    + "input and one zero point per scale, got " + dims.length + " dims, " + s.length + " scales, "
                    + z.length + " zero points");
        }
        int axis = (int) intAttribute(n, "axis", 1);
        axis = axis < 0 ? axis + 2 : axis;
        long along = s.length == 1 ? 1 : dims[axis];
        if (s.length != along || (axis != 0 && axis != 1)) {
            throw new IOException(model.source() + ": DequantizeLinear " + n.getName() + " of the head has " + s.length
                    + " scales, expected 1 or " + dims[Math.max(0, Math.min(1, axis))] + " (axis " + axis + ")");
        }
        float[] out = new float[q.length];
        int cols = (int) dims[1];
        for (int i = 0; i < q.length; i++) {
            int k = s.length == 1 ? 0 : axis == 0 ? i / cols : i % cols;
            out[i] = (q[i] - z[k]) * s[k];
        }
        return FloatTensor.wrap(dims, out);
    }

    /**
     * ONNX Runtime's MatMulNBits: B [N, blocks, block_size x bits / 8] packed low bits first, scales [N x blocks],
     * optional packed zero points (default 2^(bits-1)); the weight is [N x K] = [V x d].
     */
    private static FloatTensor nBits(OnnxModel model, NodeProto n) throws IOException {
        long k = intAttribute(n, "K", -1);
        long nOut = intAttribute(n, "N", -1);
        int bits = (int) intAttribute(n, "bits", 4);
        int block = (int) intAttribute(n, "block_size", -1);
        if (k <= 0 || nOut <= 0 || block < 16 || (bits != 4 && bits != 8) || (block & (block - 1)) != 0) {
            throw new IOException(model.source() + ": MatMulNBits " + n.getName() + " has K=" + k + ", N=" + nOut
                    + ", bits=" + bits + ", block_size=" + block + "; expected K, N > 0, bits 4 or 8 and a power-of-two "
                    + "block of at least 16");
        }
        if (k * nOut > Integer.MAX_VALUE - 8) {
            throw new IOException(model.source() + ": MatMulNBits " + n.getName() + " is " + nOut + " x " + k
                    + ", more than one Java array holds");
        }
        int blocks = (int) ((k + block - 1) / block);
        int blob = block * bits / 8;
        byte[] packed = bytes(model, required(model, n.getInput(1), "MatMulNBits' B"));
        float[] scales = floats(model, required(model, n.getInput(2), "MatMulNBits' scales")).values();
        byte[] zeros = n.getInputCount() > 3 && !n.getInput(3).isEmpty()
                ? bytes(model, required(model, n.getInput(3), "MatMulNBits' zero points")) : null;
        int zpPerRow = bits == 4 ? (blocks + 1) / 2 : blocks;
        if (packed.length != nOut * blocks * blob || scales.length != nOut * blocks
                || (zeros != null && zeros.length != nOut * zpPerRow)) {
            throw new IOException(model.source() + ": MatMulNBits " + n.getName() + ": B has " + packed.length
                    + " bytes, scales " + scales.length + (zeros == null ? "" : ", zero points " + zeros.length + " bytes")
                    + "; expected " + nOut * blocks * blob + ", " + nOut * blocks
                    + (zeros == null ? "" : ", " + nOut * zpPerRow) + " for N=" + nOut + ", K=" + k + ", block " + block);
        }
        float[] w = new float[(int) (nOut * k)];
        int defaultZero = 1 << (bits - 1);
        for (int row = 0; row < nOut; row++) {
            for (int b = 0; b < blocks; b++) {
                float scale = scales[row * blocks + b];
                int zero = defaultZero;
                if (zeros != null) {
                    int zb = zeros[row * zpPerRow + (bits == 4 ? b / 2 : b)] & 0xFF;
                    zero = bits == 4 ? (b % 2 == 0 ? zb & 0x0F : zb >> 4) : zb;
                }
                for (int e = 0; e < block && (long) b * block + e < k; e++) {
                    int byteAt = (row * blocks + b) * blob + (bits == 4 ? e / 2 : e);
                    int raw = packed[byteAt] & 0xFF;
                    int q = bits == 8 ? raw : e % 2 == 0 ? raw & 0x0F : raw >> 4;
                    w[(int) (row * k + (long) b * block + e)] = (q - zero) * scale;
                }
            }
        }
        return FloatTensor.wrap(new long[] {nOut, k}, w);
    }

    // ------------------------------------------------------------------ reading initializers

    private static TensorProto required(OnnxModel model, String name, String what) throws IOException {
        return initializer(model.graph(), name).orElseThrow(() -> new IOException(model.source() + ": " + what + " "
                + name + " is not an initializer"));
    }

    static Optional<TensorProto> initializer(GraphProto g, String name) {
        return g.getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst();
    }

    private static long[] dims(TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** float32 as stored, or float16 widened exactly, wherever the bytes are (inline or external). */
    static FloatTensor floats(OnnxModel model, TensorProto t) throws IOException {
        String source = model.source();
        if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
            return model.floatTensor(t);
        }
        if (t.getDataType() != TensorProto.DataType.FLOAT16_VALUE) {
            throw new IOException(source + ": initializer " + t.getName() + " has element type "
                    + TensorProto.DataType.forNumber(t.getDataType()) + "; expected FLOAT or FLOAT16");
        }
        float[] values;
        ByteBuffer raw = model.rawData(t);
        if (raw.hasRemaining()) {
            values = new float[raw.remaining() / 2];
            for (int i = 0; i < values.length; i++) {
                values[i] = Float16.toFloat(raw.getShort());
            }
        } else {
            values = new float[t.getInt32DataCount()];
            for (int i = 0; i < values.length; i++) {
                values[i] = Float16.toFloat((short) t.getInt32Data(i));
            }
        }
        try {
            return FloatTensor.wrap(dims(t), values);
        } catch (IllegalArgumentException e) {
            throw new IOException(source + ": initializer " + t.getName() + ": " + e.getMessage(), e);
        }
    }

    /** int8 or uint8 values as ints. */
    private static int[] integers(OnnxModel model, TensorProto t) throws IOException {
        boolean signed = t.getDataType() == TensorProto.DataType.INT8_VALUE;
        if (!signed && t.getDataType() != TensorProto.DataType.UINT8_VALUE) {
            throw new IOException(model.source() + ": initializer " + t.getName() + " has element type "
                    + TensorProto.DataType.forNumber(t.getDataType()) + "; expected INT8 or UINT8");
        }
        byte[] b = bytes(model, t);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = signed ? b[i] : b[i] & 0xFF;
        }
        return out;
    }

    /** The bytes of an 8-bit tensor: raw data (inline or external), or one int32 per element. */
    private static byte[] bytes(OnnxModel model, TensorProto t) throws IOException {
        ByteBuffer raw = model.rawData(t);
        if (raw.hasRemaining()) {
            byte[] out = new byte[raw.remaining()];
            raw.get(out);
            return out;
        }
        byte[] out = new byte[t.getInt32DataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) t.getInt32Data(i);
        }
        return out;
    }

    static long intAttribute(NodeProto n, String name, long fallback) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }

    private static long[] intsAttribute(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        return new long[0];
    }
}
