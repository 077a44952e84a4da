package org.jtune.tokenizer;

import java.util.Arrays;

/** A growable list of ints without boxing. */
final class IntList {
    private int[] values;
    private int size;

    IntList(int capacity) {
        values = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = v;
    }

    int get(int i) {
        return values[i];
    }

    void set(int i, int v) {
        values[i] = v;
    }

    /** Reverses the order of the (a, b) pairs from index {@code from} on, keeping each pair's order. */
    void reversePairs(int from) {
        for (int i = from, j = size - 2; i < j; i += 2, j -= 2) {
            int a = values[i];
            int b = values[i + 1];
            values[i] = values[j];
            values[i + 1] = values[j + 1];
            values[j] = a;
            values[j + 1] = b;
        }
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
