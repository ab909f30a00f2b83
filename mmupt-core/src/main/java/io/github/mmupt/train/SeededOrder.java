package io.github.mmupt.train;

import io.github.mmupt.seed.Seeds;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A run's order over its data: pass {@code e} visits every index of [0, size) once, in a shuffle seeded by
 * (seed, e), and the next pass starts where it ends. Its position (pass, cursor) is all a checkpoint needs to
 * continue the same order. Used by the {@link Trainer} (examples) and the {@link DpoTrainer} (pairs).
 */
final class SeededOrder {

    private final int size;
    private final long seed;
    private int pass;
    private int cursor;
    private List<Integer> order;

    /**
     * @param size how many items there are, at least 1
     * @param seed the run's seed
     * @param pass the pass to start in
     * @param cursor the position in that pass to start at (size: the pass is finished)
     */
    SeededOrder(int size, long seed, int pass, int cursor) {
        if (size < 1) {
            throw new IllegalArgumentException("an order needs at least one item, got " + size);
        }
        this.size = size;
        this.seed = seed;
        this.pass = pass;
        this.cursor = cursor;
        this.order = permutation(pass);
    }

    /** {@return the next index, starting a new pass when this one is finished} */
    int next() {
        if (cursor >= order.size()) {
            pass++;
            cursor = 0;
            order = permutation(pass);
        }
        return order.get(cursor++);
    }

    /** {@return the current pass} */
    int pass() {
        return pass;
    }

    /** {@return the position in the current pass} */
    int cursor() {
        return cursor;
    }

    private List<Integer> permutation(int e) {
        List<Integer> indices = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            indices.add(i);
        }
        Collections.shuffle(indices, new Random(Seeds.shuffle(seed, e)));
        return indices;
    }
}
