package io.github.mmupt.onnx.tokenizer;

/**
 * The merge rules of a BPE vocabulary keyed by the pair of token ids they join: (left, right) to (rank, merged
 * id). Open addressing over primitive arrays, because the 151,387 Qwen merges as boxed map entries would cost
 * tens of megabytes and a pointer chase per lookup on the hot path of every encode.
 */
final class BpeMergeTable {

    private static final long EMPTY = -1L;
    private final long[] keys;
    private final long[] values;
    private final int mask;
    private int size;

    BpeMergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        java.util.Arrays.fill(keys, EMPTY);
        mask = capacity - 1;
    }

    /**
     * Adds a merge; a pair already present keeps its first (lowest) rank, as Hugging Face's loader does.
     *
     * @return false when the pair was already present
     */
    boolean put(int left, int right, int rank, int merged) {
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != EMPTY) {
            if (keys[slot] == key) {
                return false;
            }
            slot = (slot + 1) & mask;
        }
        if (size + 1 > keys.length / 2) {
            throw new IllegalStateException("merge table sized for fewer merges than were added");
        }
        keys[slot] = key;
        values[slot] = ((long) rank << 32) | (merged & 0xffffffffL);
        size++;
        return true;
    }

    /** {@return (rank << 32) | merged id of the pair, or -1 when the pair has no merge} */
    long get(int left, int right) {
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != EMPTY) {
            if (keys[slot] == key) {
                return values[slot];
            }
            slot = (slot + 1) & mask;
        }
        return -1L;
    }

    int size() {
        return size;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }
}
