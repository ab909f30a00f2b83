package io.github.mmupt.onnx.qwen;

/**
 * M-RoPE position ids of a batch, as Qwen2-VL's decoder takes them: {@code position_ids} of shape [3, B, S]
 * (temporal, height and width rows; equal for text), and each row's rope delta, which places every later decode
 * step at {@code past length + delta} on all three rows.
 *
 * @param positions  [3, batch, length] flattened row-major (owned by this record: do not modify)
 * @param batch      rows in the batch (B)
 * @param length     tokens per row, padding included (S)
 * @param ropeDeltas per row: max position + 1 - S
 */
public record RopePositions(long[] positions, int batch, int length, long[] ropeDeltas) {

    /**
     * Checks the shape.
     *
     * @param positions the component {@code positions}, described with the class
     * @param batch the component {@code batch}, described with the class
     * @param length the component {@code length}, described with the class
     * @param ropeDeltas the component {@code ropeDeltas}, described with the class
     */
    public RopePositions {
        if (batch <= 0 || length <= 0 || (long) positions.length != 3L * batch * length
                || ropeDeltas.length != batch) {
            throw new IllegalArgumentException("positions of " + positions.length + " and " + ropeDeltas.length
                    + " deltas do not fit [3, " + batch + ", " + length + "]");
        }
    }

    /**
     * One position id.
     *
     * @param axis 0 (temporal), 1 (height) or 2 (width)
     * @param b    the row
     * @param s    the token
     * @return its position
     */
    public long at(int axis, int b, int s) {
        return positions[(axis * batch + b) * length + s];
    }

    /**
     * The position of a generated token: the same on all three axes.
     *
     * @param b          the row
     * @param pastLength tokens already in the KV cache, padding included
     * @return its position id
     */
    public long decodePosition(int b, long pastLength) {
        return pastLength + ropeDeltas[b];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RopePositions p && batch == p.batch && length == p.length
                && java.util.Arrays.equals(positions, p.positions) && java.util.Arrays.equals(ropeDeltas, p.ropeDeltas);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * batch + length) + java.util.Arrays.hashCode(positions);
    }

    @Override
    public String toString() {
        return "RopePositions[3 x " + batch + " x " + length + ", deltas " + java.util.Arrays.toString(ropeDeltas)
                + "]";
    }
}
