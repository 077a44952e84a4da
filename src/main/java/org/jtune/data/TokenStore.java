package org.jtune.data;

import java.util.Arrays;

/**
 * Many token sequences in three flat arrays (ids, target flags, offsets), about 5 bytes a token:
 * a large dataset is held without one object per example.
 */
final class TokenStore {
    private int[] ids = new int[1 << 12];
    private byte[] trainable = new byte[1 << 12];
    private int[] offsets = new int[1 << 8];
    private int count;

    void add(TokenizedExample e) {
        int start = offsets[count];
        long end = (long) start + e.length();
        if (end > Integer.MAX_VALUE - 8) {
            throw new DatasetException("dataset too large: more than " + (Integer.MAX_VALUE - 8) + " tokens in memory");
        }
        if (end > ids.length) {
            int n = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(end, 2L * ids.length));
            ids = Arrays.copyOf(ids, n);
            trainable = Arrays.copyOf(trainable, n);
        }
        if (count + 2 > offsets.length) {
            offsets = Arrays.copyOf(offsets, offsets.length * 2);
        }
        System.arraycopy(e.ids(), 0, ids, start, e.length());
        for (int i = 0; i < e.length(); i++) {
            trainable[start + i] = (byte) (e.trainable()[i] ? 1 : 0);
        }
        offsets[++count] = (int) end;
    }

    int size() {
        return count;
    }

    int length(int i) {
        return offsets[i + 1] - offsets[i];
    }

    TokenizedExample get(int i) {
        int start = offsets[i];
        int n = length(i);
        boolean[] t = new boolean[n];
        for (int k = 0; k < n; k++) {
            t[k] = trainable[start + k] != 0;
        }
        return new TokenizedExample(Arrays.copyOfRange(ids, start, start + n), t);
    }

    /** Copies example i's ids and target flags into the arrays at {@code at}. */
    void copyTo(int i, int[] idsOut, boolean[] trainableOut, int at) {
        int start = offsets[i];
        int n = length(i);
        System.arraycopy(ids, start, idsOut, at, n);
        for (int k = 0; k < n; k++) {
            trainableOut[at + k] = trainable[start + k] != 0;
        }
    }
}
