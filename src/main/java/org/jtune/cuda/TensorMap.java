package org.jtune.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.CudaDriver;

/**
 * CUtensorMap descriptors for the bulk tensor copies of Hopper GPUs ({@code cp.async.bulk.tensor}): the
 * 128 bytes a kernel takes by value as a {@code .param .align 64 .b8 [128]} argument.
 */
public final class TensorMap {
    /** Size of a CUtensorMap. */
    public static final int BYTES = 8 * CudaDriver.CU_TENSOR_MAP_NUM_QWORDS();
    /** Alignment the driver requires of a CUtensorMap in host memory. */
    public static final int ALIGNMENT = 128;
    private static final int RANK = 2;
    private static final int BF16_BYTES = 2;
    /** Per-thread argument arrays (dimensions, stride, box, element steps), so encoding allocates nothing. */
    private static final ThreadLocal<MemorySegment> ARRAYS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(64, 8));

    private TensorMap() {}

    /**
     * Encodes into {@code map} ({@link #BYTES} bytes, {@link #ALIGNMENT}-aligned) a map of the row-major bf16
     * matrix of {@code rows} x {@code columns} at {@code address}, rows {@code rowStride} elements apart,
     * copied in boxes of {@code boxRows} x {@code boxColumns} with 128-byte swizzle (so boxColumns * 2 must
     * be at most 128); elements outside the matrix read as zero.
     */
    public static void bf16RowMajor(MemorySegment map, long address, long rows, long columns, long rowStride,
                                    int boxRows, int boxColumns) {
        if (map.byteSize() != BYTES || map.address() % ALIGNMENT != 0) {
            throw new IllegalArgumentException("a tensor map needs " + BYTES + " bytes aligned to " + ALIGNMENT
                    + ", got " + map.byteSize() + " bytes at 0x" + Long.toHexString(map.address()));
        }
        MemorySegment arrays = ARRAYS.get();
        long dims = 0;
        long strides = 16;
        long box = 32;
        long steps = 48;
        arrays.set(ValueLayout.JAVA_LONG, dims, columns);
        arrays.set(ValueLayout.JAVA_LONG, dims + 8, rows);
        arrays.set(ValueLayout.JAVA_LONG, strides, rowStride * BF16_BYTES);
        arrays.set(ValueLayout.JAVA_INT, box, boxColumns);
        arrays.set(ValueLayout.JAVA_INT, box + 4, boxRows);
        arrays.set(ValueLayout.JAVA_INT, steps, 1);
        arrays.set(ValueLayout.JAVA_INT, steps + 4, 1);
        int result = CudaDriver.cuTensorMapEncodeTiled(map, CudaDriver.CU_TENSOR_MAP_DATA_TYPE_BFLOAT16(), RANK,
                MemorySegment.ofAddress(address), arrays.asSlice(dims, 16), arrays.asSlice(strides, 8),
                arrays.asSlice(box, 8), arrays.asSlice(steps, 8), CudaDriver.CU_TENSOR_MAP_INTERLEAVE_NONE(),
                CudaDriver.CU_TENSOR_MAP_SWIZZLE_128B(), CudaDriver.CU_TENSOR_MAP_L2_PROMOTION_L2_256B(),
                CudaDriver.CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE());
        if (result != CudaDriver.CUDA_SUCCESS()) {
            CudaResults.check(result, "cuTensorMapEncodeTiled(bf16 " + rows + " x " + columns + ", row stride "
                    + rowStride + ", box " + boxRows + " x " + boxColumns + ", at 0x" + Long.toHexString(address) + ")");
        }
    }
}
