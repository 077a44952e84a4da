package org.jtune.io;

import java.util.Arrays;

/**
 * A tensor's entry in a GGUF file: its name, ggml type and dimensions. {@code dims} are in ggml's order, the
 * fastest-varying (row length) first: a row-major {@code [rows, columns]} matrix has {@code dims = {columns, rows}}.
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims) {
    public GgufTensorInfo {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a GGUF tensor needs a name");
        }
        if (dims.length == 0 || dims.length > 4) {
            throw new IllegalArgumentException(name + ": GGUF tensors have 1 to 4 dimensions, got " + dims.length);
        }
        dims = dims.clone();
        for (long d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException(name + ": dimension " + d + " in " + Arrays.toString(dims));
            }
        }
        if (!type.fitsRow(dims[0])) {
            throw new IllegalArgumentException(name + ": rows of " + dims[0] + " values do not split into " + type
                    + " blocks of " + type.blockSize());
        }
    }

    /** A row-major matrix of {@code rows} rows of {@code columns} values. */
    public static GgufTensorInfo matrix(String name, GgmlType type, long rows, long columns) {
        return new GgufTensorInfo(name, type, new long[] {columns, rows});
    }

    public static GgufTensorInfo vector(String name, GgmlType type, long length) {
        return new GgufTensorInfo(name, type, new long[] {length});
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of rows (the product of the other dimensions). */
    public long rows() {
        long rows = 1;
        for (int i = 1; i < dims.length; i++) {
            rows = Math.multiplyExact(rows, dims[i]);
        }
        return rows;
    }

    /** Bytes of the tensor's data. */
    public long byteSize() {
        return Math.multiplyExact(type.rowBytes(dims[0]), rows());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && t.type == type && Arrays.equals(t.dims, dims);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type.displayName() + " " + Arrays.toString(dims);
    }
}
