package org.jtune.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jtune.tensor.DType;

/**
 * Reads and writes the tensors of one NF4-quantized Linear in an HF bnb-4bit checkpoint (spec §5.1):
 * {@code P.weight}, {@code .absmax}, {@code .quant_map}, {@code .nested_absmax},
 * {@code .nested_quant_map} and {@code .quant_state.bitsandbytes__nf4}.
 */
public final class Bnb4bitTensors {
    private Bnb4bitTensors() {}

    static final String WEIGHT = ".weight";
    static final String ABSMAX = ".weight.absmax";
    static final String QUANT_MAP = ".weight.quant_map";
    static final String NESTED_ABSMAX = ".weight.nested_absmax";
    static final String NESTED_QUANT_MAP = ".weight.nested_quant_map";
    static final String BLOB_NF4 = ".weight.quant_state.bitsandbytes__nf4";
    static final String BLOB_FP4 = ".weight.quant_state.bitsandbytes__fp4";

    /** True if the module at path P is stored 4-bit quantized (it has a quant-state blob). */
    public static boolean isQuantized(TensorSource source, String module) {
        return source.has(module + BLOB_NF4) || source.has(module + BLOB_FP4);
    }

    /**
     * Loads and validates the quantized weight of module P (e.g. {@code model.layers.0.mlp.up_proj}).
     * The returned weight refers to the source's segments without copying them.
     */
    public static Nf4Weight read(TensorSource source, String module) {
        if (source.has(module + BLOB_FP4)) {
            throw new IllegalArgumentException(module + BLOB_FP4 + ": 4-bit quant type fp4 is not supported (only nf4)");
        }
        String blobName = module + BLOB_NF4;
        require(source, blobName, DType.U8, null);
        QuantStateBlob blob = QuantStateBlob.parse(utf8(source.data(blobName)), blobName);

        long n = Arrays.stream(blob.shape()).reduce(1, Math::multiplyExact);
        long blocks = Math.ceilDiv(n, blob.blocksize());
        MemorySegment packed = require(source, module + WEIGHT, DType.U8, new long[] {(n + 1) / 2, 1});
        float[] quantMap = floats(require(source, module + QUANT_MAP, DType.F32, new long[] {16}));
        checkNf4Map(quantMap, module + QUANT_MAP);

        Absmax absmax;
        if (blob.nested() == null) {
            for (String suffix : List.of(NESTED_ABSMAX, NESTED_QUANT_MAP)) {
                if (source.has(module + suffix)) {
                    throw new IllegalArgumentException(module + suffix + " is present but " + blobName
                            + " has no nested_* fields");
                }
            }
            absmax = new Absmax.Plain(require(source, module + ABSMAX, DType.F32, new long[] {blocks}), blocks);
        } else {
            int nestedBlocksize = blob.nested().blocksize();
            long nestedBlocks = Absmax.DoubleQuantized.nestedBlocks(blocks, nestedBlocksize);
            MemorySegment codes = require(source, module + ABSMAX, DType.U8, new long[] {blocks});
            MemorySegment nestedAbsmax = require(source, module + NESTED_ABSMAX, DType.F32, new long[] {nestedBlocks});
            float[] nestedMap = floats(require(source, module + NESTED_QUANT_MAP, DType.F32,
                    new long[] {DynamicMap.SIZE}));
            absmax = new Absmax.DoubleQuantized(codes, blocks, nestedAbsmax, nestedBlocksize, nestedMap,
                    blob.nested().offset());
        }
        return new Nf4Weight(packed, new QuantState(blob.shape(), blob.dtype(), blob.blocksize(), quantMap, absmax));
    }

    /** The tensors bitsandbytes writes for this weight as module P, in its order; maps and blob go to arena. */
    public static List<NamedTensor> tensors(Nf4Weight weight, String module, Arena arena) {
        QuantState state = weight.state();
        List<NamedTensor> out = new ArrayList<>();
        out.add(new NamedTensor(module + WEIGHT, DType.U8, new long[] {weight.packedBytes(), 1}, weight.packed()));
        switch (state.absmax()) {
            case Absmax.Plain plain -> {
                out.add(new NamedTensor(module + ABSMAX, DType.F32, new long[] {plain.blocks()}, plain.values()));
                out.add(floatTensor(module + QUANT_MAP, state.quantMap(), arena));
            }
            case Absmax.DoubleQuantized dq -> {
                out.add(new NamedTensor(module + ABSMAX, DType.U8, new long[] {dq.blocks()}, dq.codes()));
                out.add(floatTensor(module + QUANT_MAP, state.quantMap(), arena));
                out.add(new NamedTensor(module + NESTED_ABSMAX, DType.F32,
                        new long[] {dq.nestedAbsmax().byteSize() / Float.BYTES}, dq.nestedAbsmax()));
                out.add(floatTensor(module + NESTED_QUANT_MAP, dq.nestedMap(), arena));
            }
        }
        byte[] blob = QuantStateBlob.of(state).toJson().getBytes(StandardCharsets.UTF_8);
        MemorySegment blobData = arena.allocate(blob.length);
        MemorySegment.copy(blob, 0, blobData, LittleEndian.U8, 0, blob.length);
        out.add(new NamedTensor(module + BLOB_NF4, DType.U8, new long[] {blob.length}, blobData));
        return out;
    }

    /**
     * The file's quant_map must be the NF4 table: the CUDA kernels ignore it and use their built-in
     * table, so a different map would make this file mean different things to different readers.
     */
    private static void checkNf4Map(float[] map, String tensor) {
        for (int code = 0; code < 16; code++) {
            if (Float.floatToRawIntBits(map[code]) != Float.floatToRawIntBits(Nf4.value(code))) {
                throw new IllegalArgumentException(tensor + ": entry " + code + " is " + map[code]
                        + ", the NF4 table has " + Nf4.value(code));
            }
        }
    }

    /** Checks presence, dtype and (if expected is not null) shape; returns the data. */
    private static MemorySegment require(TensorSource source, String name, DType dtype, long[] expected) {
        if (!source.has(name)) {
            throw new IllegalArgumentException("missing tensor " + name);
        }
        if (source.dtype(name) != dtype) {
            throw new IllegalArgumentException(name + " has dtype " + source.dtype(name) + ", expected " + dtype);
        }
        long[] shape = source.shape(name);
        if (expected != null ? !Arrays.equals(shape, expected) : shape.length != 1) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(shape) + ", expected "
                    + (expected != null ? Arrays.toString(expected) : "one dimension"));
        }
        MemorySegment data = source.data(name);
        long elements = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (data.byteSize() != elements * dtype.byteSize()) {
            throw new IllegalArgumentException(name + " holds " + data.byteSize() + " bytes, its shape "
                    + Arrays.toString(shape) + " needs " + elements * dtype.byteSize());
        }
        return data;
    }

    private static float[] floats(MemorySegment data) {
        float[] values = new float[(int) (data.byteSize() / Float.BYTES)];
        for (int i = 0; i < values.length; i++) {
            values[i] = data.getAtIndex(LittleEndian.F32, i);
        }
        return values;
    }

    private static String utf8(MemorySegment data) {
        return new String(data.toArray(LittleEndian.U8), StandardCharsets.UTF_8);
    }

    private static NamedTensor floatTensor(String name, float[] values, Arena arena) {
        MemorySegment data = arena.allocate((long) values.length * Float.BYTES, Float.BYTES);
        for (int i = 0; i < values.length; i++) {
            data.setAtIndex(LittleEndian.F32, i, values[i]);
        }
        return new NamedTensor(name, DType.F32, new long[] {values.length}, data);
    }
}
