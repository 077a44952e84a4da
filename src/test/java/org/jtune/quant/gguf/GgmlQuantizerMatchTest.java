package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;
import org.jtune.testing.LlamaCpp;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The encoders byte for byte against ggml's own quantizers, called through the Foreign Function API in the ggml
 * library of the llama.cpp build the export tests use: {@code ggml_quantize_chunk} without an importance matrix is
 * what llama.cpp's quantize tool runs. ggml's dequantizers also check the tests' own decoder.
 */
class GgmlQuantizerMatchTest {
    private static final GgmlType[] TYPES = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16};

    @Test
    void sameBytesAsGgml() throws Throwable {
        Linker linker = Linker.nativeLinker();
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup ggml = SymbolLookup.libraryLookup(LlamaCpp.ggmlBase(), arena);
            MethodHandle quantize = linker.downcallHandle(ggml.find("ggml_quantize_chunk").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                            ValueLayout.ADDRESS));
            int rowLength = 1024;
            for (long seed = 1; seed <= 6; seed++) {
                float[] x = RowEncoderTest.rows(seed);
                int rows = x.length / rowLength;
                MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
                for (GgmlType type : TYPES) {
                    byte[] ours = RowEncoderTest.encode(type, x);
                    MemorySegment dst = arena.allocate(ours.length);
                    long written = (long) quantize.invokeExact(type.id(), src, dst, 0L, (long) rows, (long) rowLength,
                            MemorySegment.NULL);
                    assertEquals(ours.length, written, type + ": bytes written");
                    byte[] theirs = dst.toArray(ValueLayout.JAVA_BYTE);
                    assertArrayEquals(theirs, ours, type + ", seed " + seed + ": first difference at byte "
                            + firstDifference(theirs, ours));
                    if (type != GgmlType.F16 && type != GgmlType.BF16) {
                        checkDequantizer(linker, ggml, arena, type, dst, x.length);
                    }
                }
            }
        }
    }

    /** ggml's dequantize_row_* against the tests' own decoder, value for value. */
    private static void checkDequantizer(Linker linker, SymbolLookup ggml, Arena arena, GgmlType type,
                                         MemorySegment blocks, int count) throws Throwable {
        MethodHandle dequantize = linker.downcallHandle(
                ggml.find("dequantize_row_" + type.name().toLowerCase(Locale.ROOT).replace("_k", "_K")).orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, count);
        dequantize.invokeExact(blocks, out, (long) count);
        float[] expected = out.toArray(ValueLayout.JAVA_FLOAT);
        float[] decoded = GgmlDequantizer.decode(type, blocks.toArray(ValueLayout.JAVA_BYTE), count);
        assertArrayEquals(expected, decoded, type + ": the tests' decoder against ggml's");
    }

    private static int firstDifference(byte[] a, byte[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : Math.min(a.length, b.length);
    }
}
