package org.jtune.tokenizer;

import java.util.Arrays;

/** BPE merge rules: (left id, right id) to rank and merged id, in an open-addressing hash table. */
final class MergeTable {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final int[] ranks;
    private final int[] mergedIdByRank;
    private final int[] leftByRank;
    private final int[] rightByRank;
    private final int mask;

    MergeTable(int[] left, int[] right, int[] merged) {
        int capacity = Integer.highestOneBit(Math.max(4, left.length * 2 - 1)) << 1;
        keys = new long[capacity];
        ranks = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY);
        mergedIdByRank = merged.clone();
        leftByRank = left.clone();
        rightByRank = right.clone();
        for (int rank = 0; rank < left.length; rank++) {
            long key = key(left[rank], right[rank]);
            int slot = slot(key);
            while (keys[slot] != EMPTY && keys[slot] != key) {
                slot = (slot + 1) & mask;
            }
            if (keys[slot] == EMPTY) {
                // A repeated merge keeps its first (best) rank, as a map built in file order would.
                keys[slot] = key;
                ranks[slot] = rank;
            }
        }
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    /** The rank of merging left with right, or -1 when no rule merges them. */
    int rank(int left, int right) {
        long key = key(left, right);
        int slot = slot(key);
        while (true) {
            long k = keys[slot];
            if (k == key) {
                return ranks[slot];
            }
            if (k == EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    int mergedId(int rank) {
        return mergedIdByRank[rank];
    }

    /** The left token id of the merge of this rank (in file order, repeated merges included). */
    int left(int rank) {
        return leftByRank[rank];
    }

    /** The right token id of the merge of this rank. */
    int right(int rank) {
        return rightByRank[rank];
    }

    int size() {
        return mergedIdByRank.length;
    }
}
