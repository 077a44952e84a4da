package org.jtune.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Best-fit decreasing bin packing of sequences into rows of a fixed capacity, as TRL's "bfd" packing:
 * sequences are taken longest first (equal lengths in index order), each goes into the row whose free
 * space is the smallest that still holds it (among equal ones, the row opened first), and a new row is
 * opened when none does. O(n log n). (TRL breaks ties between rows of equal free space by which one reached
 * that space first; both are best-fit decreasing, and may pair sequences differently.)
 */
public final class BestFitDecreasing {
    private BestFitDecreasing() {
    }

    /** The rows, each the indices of the sequences it holds in the order they were placed; rows in the order opened. */
    public static List<int[]> pack(int[] lengths, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("row capacity must be positive, got " + capacity);
        }
        Integer[] order = new Integer[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] <= 0 || lengths[i] > capacity) {
                throw new IllegalArgumentException("sequence " + i + " has length " + lengths[i]
                        + ", which does not fit a row of " + capacity);
            }
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> -lengths[i]).thenComparingInt(i -> i));
        List<Row> rows = new ArrayList<>();
        // Free space -> the numbers of the rows with exactly that much free.
        TreeMap<Integer, TreeSet<Integer>> byFree = new TreeMap<>();
        for (int i : order) {
            Integer free = byFree.ceilingKey(lengths[i]);
            int r;
            if (free == null) {
                r = rows.size();
                rows.add(new Row(capacity));
            } else {
                TreeSet<Integer> same = byFree.get(free);
                r = same.pollFirst();
                if (same.isEmpty()) {
                    byFree.remove(free);
                }
            }
            Row row = rows.get(r);
            row.add(i, lengths[i]);
            if (row.free > 0) {
                byFree.computeIfAbsent(row.free, k -> new TreeSet<>()).add(r);
            }
        }
        List<int[]> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            out.add(Arrays.copyOf(r.items, r.count));
        }
        return out;
    }

    private static final class Row {
        int free;
        int[] items = new int[4];
        int count;

        Row(int capacity) {
            free = capacity;
        }

        void add(int item, int length) {
            if (count == items.length) {
                items = Arrays.copyOf(items, count * 2);
            }
            items[count++] = item;
            free -= length;
        }
    }
}
