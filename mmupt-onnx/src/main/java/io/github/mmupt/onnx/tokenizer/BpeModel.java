package io.github.mmupt.onnx.tokenizer;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.util.Arrays;
import java.util.Map;

/**
 * The BPE model of a byte-level vocabulary: the bytes of one pre-tokenized piece start as one symbol each, and
 * the adjacent pair with the lowest merge rank is joined until no pair has a merge. A heap of (rank, position)
 * over a linked list of symbols makes a piece of n bytes cost O(n log n), so a hostile megabyte-long word costs
 * milliseconds, not the O(n^2) of rescanning for the best pair; ties go to the leftmost pair, as in Hugging
 * Face's {@code tokenizers}. Words up to {@value #CACHED_WORD_BYTES} bytes are cached (bounded, thread-safe).
 */
final class BpeModel {

    static final int CACHED_WORD_BYTES = 64;
    private static final int CACHE_ENTRIES = 100_000;

    private final Map<String, Integer> vocab;
    private final BpeMergeTable merges;
    private final int[] byteIds = new int[256];
    private final boolean ignoreMerges;
    private final Cache<String, int[]> cache = CacheBuilder.newBuilder().maximumSize(CACHE_ENTRIES).build();

    /**
     * @param vocab        the model's vocabulary, in the byte-level alphabet
     * @param merges       its merges
     * @param ignoreMerges whether a piece found whole in the vocabulary is one token without merging
     * @throws IllegalArgumentException when a byte has no token (the vocabulary could not encode every text)
     */
    BpeModel(Map<String, Integer> vocab, BpeMergeTable merges, boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevelAlphabet.charOf(b)));
            if (id == null) {
                throw new IllegalArgumentException(String.format("byte 0x%02x (character '%c') has no token in the "
                        + "vocabulary; a byte-level vocabulary holds all 256", b, ByteLevelAlphabet.charOf(b)));
            }
            byteIds[b] = id;
        }
    }

    /** {@return the token ids of one pre-tokenized piece, given as its UTF-8 bytes} */
    int[] encode(String piece, byte[] utf8) {
        if (utf8.length == 0) {
            return new int[0];
        }
        if (utf8.length > CACHED_WORD_BYTES) {
            return merge(utf8);
        }
        int[] cached = cache.getIfPresent(piece);
        if (cached == null) {
            cached = merge(utf8);
            cache.put(piece, cached);
        }
        return cached;
    }

    private int[] merge(byte[] utf8) {
        if (ignoreMerges) {
            Integer whole = vocab.get(ByteLevelAlphabet.encode(utf8));
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int n = utf8.length;
        int[] ids = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = byteIds[utf8[i] & 0xff];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        LongMinHeap heap = new LongMinHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            push(heap, ids[i], ids[i + 1], i);
        }
        int symbols = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int pos = (int) top;
            int right = next[pos];
            if (ids[pos] < 0 || right < 0) {
                continue;
            }
            long merge = merges.get(ids[pos], ids[right]);
            // stale entry: a neighbour merged since it was pushed, so this pair is gone (or another pair)
            if (merge < 0 || (merge >>> 32) != (top >>> 32)) {
                continue;
            }
            ids[pos] = (int) merge;
            ids[right] = -1;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            symbols--;
            if (prev[pos] >= 0) {
                push(heap, ids[prev[pos]], ids[pos], prev[pos]);
            }
            if (next[pos] >= 0) {
                push(heap, ids[pos], ids[next[pos]], pos);
            }
        }
        int[] out = new int[symbols];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = ids[i];
        }
        return out;
    }

    private void push(LongMinHeap heap, int left, int right, int pos) {
        long merge = merges.get(left, right);
        if (merge >= 0) {
            heap.push((merge & 0xffffffff00000000L) | pos);
        }
    }

    /** A binary min-heap of longs: (rank << 32) | position orders by rank, then leftmost position. */
    private static final class LongMinHeap {
        private long[] items;
        private int size;

        LongMinHeap(int capacity) {
            items = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (items[parent] <= v) {
                    break;
                }
                items[i] = items[parent];
                i = parent;
            }
            items[i] = v;
        }

        long pop() {
            long top = items[0];
            long last = items[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && items[child + 1] < items[child]) {
                    child++;
                }
                if (items[child] >= last) {
                    break;
                }
                items[i] = items[child];
                i = child;
            }
            items[i] = last;
            return top;
        }
    }
}
