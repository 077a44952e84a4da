package org.jtune.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;

class Bnb4bitTensorsTest {
    private static final String P = "model.layers.0.self_attn.q_proj";

    private static Nf4Weight randomWeight(long seed, int rows, int cols, boolean doubleQuant, Arena arena) {
        float[] w = Nf4WeightTest.randomWeights(new SplittableRandom(seed), rows * cols, DType.BF16);
        return Nf4Weight.quantize(P, Nf4WeightTest.encode(w, DType.BF16, arena), DType.BF16,
                new long[] {rows, cols}, 64, doubleQuant, arena);
    }

    @Test
    void blobTextIsWhatPythonJsonDumpsWrites() {
        float[] w = new float[8 * 64];
        for (int b = 0; b < 8; b++) {
            for (int j = 0; j < 64; j++) {
                w[b * 64 + j] = (float) (((j * 29) % 64 - 32) / 32.0 * (b + 1) / 64.0);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = Nf4WeightTest.encode(w, DType.BF16, arena);
            Nf4Weight dq = Nf4Weight.quantize(P, data, DType.BF16, new long[] {8, 64}, 64, true, arena);
            assertEquals("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [8, 64], "
                    + "\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.0703125}",
                    QuantStateBlob.of(dq.state()).toJson());
            Nf4Weight plain = Nf4Weight.quantize(P, Nf4WeightTest.encode(w, DType.F32, arena), DType.F32,
                    new long[] {512}, 128, false, arena);
            assertEquals("{\"quant_type\": \"nf4\", \"blocksize\": 128, \"dtype\": \"float32\", \"shape\": [512]}",
                    QuantStateBlob.of(plain.state()).toJson());
        }
    }

    @Test
    void pythonFloatRepr() {
        String[][] cases = {
            {"0.1", "0.1"}, {"1e-05", "1.0E-5"}, {"0.0001", "1.0E-4"}, {"0.00012", "1.2E-4"}, {"1.5e-05", "1.5E-5"},
            {"100.0", "100"}, {"1e+16", "1E16"}, {"1000000000000000.0", "1E15"}, {"1.2345678901234568e+17", "123456789012345678"},
            {"-2.5", "-2.5"}, {"0.0", "0"}, {"-0.0", "-0"}, {"0.10000000149011612", Double.toString((double) 0.1f)},
            {"0.0703125", "0.0703125"}, {"5e-324", "4.9E-324"}, {"1.7976931348623157e+308", "1.7976931348623157E308"},
        };
        for (String[] c : cases) {
            assertEquals(c[0], PythonFloats.repr(Double.parseDouble(c[1])), c[1]);
        }
    }

    @Test
    void writeThenReadGivesTheSameWeight() {
        for (boolean doubleQuant : new boolean[] {false, true}) {
            try (Arena arena = Arena.ofConfined()) {
                Nf4Weight original = randomWeight(7, 33, 131, doubleQuant, arena);
                List<NamedTensor> tensors = Bnb4bitTensors.tensors(original, P, arena);
                List<String> expectedNames = doubleQuant
                        ? List.of(P + ".weight", P + ".weight.absmax", P + ".weight.quant_map", P + ".weight.nested_absmax",
                                P + ".weight.nested_quant_map", P + ".weight.quant_state.bitsandbytes__nf4")
                        : List.of(P + ".weight", P + ".weight.absmax", P + ".weight.quant_map",
                                P + ".weight.quant_state.bitsandbytes__nf4");
                assertEquals(expectedNames, tensors.stream().map(NamedTensor::name).toList());
                MemoryTensorSource source = new MemoryTensorSource(tensors);
                assertArrayEquals(new long[] {(33 * 131 + 1) / 2, 1}, source.shape(P + ".weight"));
                assertEquals(doubleQuant ? DType.U8 : DType.F32, source.dtype(P + ".weight.absmax"));
                assertTrue(Bnb4bitTensors.isQuantized(source, P));
                Nf4Weight loaded = Bnb4bitTensors.read(source, P);
                assertArrayEquals(new long[] {33, 131}, loaded.state().shape());
                assertEquals(DType.BF16, loaded.state().dtype());
                assertEquals(doubleQuant, loaded.state().doubleQuantized());
                MemorySegment a = arena.allocate(33 * 131 * 4);
                MemorySegment b = arena.allocate(33 * 131 * 4);
                original.dequantizeTo(a, DType.F32);
                loaded.dequantizeTo(b, DType.F32);
                assertEquals(-1, a.mismatch(b), "double quant " + doubleQuant);
            }
        }
    }

    @Test
    void blobParsingAcceptsAnyFormatting() {
        QuantStateBlob blob = QuantStateBlob.parse("{\"shape\":[4096,1024],\"dtype\":\"float16\",\"blocksize\":64,"
                + "\"quant_type\":\"nf4\",\"nested_offset\":0.10000000149011612,\"nested_dtype\":\"float32\","
                + "\"nested_blocksize\":256}", "t");
        assertArrayEquals(new long[] {4096, 1024}, blob.shape());
        assertEquals(DType.F16, blob.dtype());
        assertEquals(0.1f, blob.nested().offset());
        assertNull(QuantStateBlob.parse("{ \"quant_type\" : \"nf4\", \"blocksize\" : 32, \"dtype\" : \"float32\", \"shape\" : [3] }",
                "t").nested());
    }

    /** Writes a valid double-quantized module, breaks it with edit, and expects an error naming what. */
    private static void assertRejected(Consumer<MemoryTensorSource> edit, String... expectedInMessage) {
        try (Arena arena = Arena.ofConfined()) {
            MemoryTensorSource source = new MemoryTensorSource(Bnb4bitTensors.tensors(randomWeight(3, 8, 100, true, arena), P, arena));
            edit.accept(source);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bnb4bitTensors.read(source, P));
            for (String s : expectedInMessage) {
                assertTrue(e.getMessage().contains(s), "message \"" + e.getMessage() + "\" lacks \"" + s + "\"");
            }
        }
    }

    private static NamedTensor blob(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return new NamedTensor(P + ".weight.quant_state.bitsandbytes__nf4", DType.U8, new long[] {bytes.length},
                MemorySegment.ofArray(bytes));
    }

    private static final String NESTED = ", \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.01}";

    @Test
    void malformedQuantStatesAreRejectedNamingTheTensor() {
        assertRejected(s -> s.tensors.remove(P + ".weight.quant_state.bitsandbytes__nf4"),
                "missing tensor", P + ".weight.quant_state.bitsandbytes__nf4");
        assertRejected(s -> s.tensors.remove(P + ".weight.absmax"), "missing tensor", P + ".weight.absmax");
        assertRejected(s -> s.tensors.remove(P + ".weight.nested_absmax"), "missing tensor", P + ".weight.nested_absmax");
        assertRejected(s -> s.tensors.remove(P + ".weight.quant_map"), "missing tensor", P + ".weight.quant_map");
        assertRejected(s -> s.put(new NamedTensor(P + ".weight", DType.U8, new long[] {400, 2},
                s.data(P + ".weight"))), P + ".weight", "[400, 2]", "[400, 1]");
        assertRejected(s -> s.put(new NamedTensor(P + ".weight", DType.I8, new long[] {400, 1},
                s.data(P + ".weight"))), P + ".weight", "I8");
        assertRejected(s -> s.put(new NamedTensor(P + ".weight.absmax", DType.U8, new long[] {12},
                s.data(P + ".weight.absmax").asSlice(0, 12))), P + ".weight.absmax", "[12]", "[13]");
        assertRejected(s -> s.put(new NamedTensor(P + ".weight.absmax", DType.F32, new long[] {13},
                MemorySegment.ofArray(new float[13]))), P + ".weight.absmax", "F32", "U8");
        assertRejected(s -> s.put(new NamedTensor(P + ".weight.nested_absmax", DType.F32, new long[] {2},
                MemorySegment.ofArray(new float[2]))), P + ".weight.nested_absmax", "[2]", "[1]");
        assertRejected(s -> s.put(new NamedTensor(P + ".weight.nested_quant_map", DType.F32, new long[] {255},
                MemorySegment.ofArray(new float[255]))), P + ".weight.nested_quant_map", "[255]");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [8, 100]}")),
                P + ".weight.nested_absmax", "no nested_* fields");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf5\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [8, 100]" + NESTED)),
                P + ".weight.quant_state", "unknown quant_type", "nf5");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 48, \"dtype\": \"bfloat16\", \"shape\": [8, 100]" + NESTED)),
                P + ".weight.quant_state", "blocksize 48");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"int8\", \"shape\": [8, 100]" + NESTED)),
                P + ".weight.quant_state", "int8");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [8, -100]" + NESTED)),
                P + ".weight.quant_state", "shape");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [8, 100], \"extra\": 1" + NESTED)),
                P + ".weight.quant_state", "unknown quant state key \"extra\"");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [8, 102]" + NESTED)),
                P + ".weight", "[408, 1]");
        assertRejected(s -> s.put(blob("{\"quant_type\": \"nf4\", \"blocksize\": 64,")), P + ".weight.quant_state", "not valid JSON");
        assertRejected(s -> {
            float[] map = Nf4.table();
            map[9] = 0.25f;
            s.put(new NamedTensor(P + ".weight.quant_map", DType.F32, new long[] {16}, MemorySegment.ofArray(map)));
        }, P + ".weight.quant_map", "entry 9");
    }

    @Test
    void fp4IsRejectedClearly() {
        try (Arena arena = Arena.ofConfined()) {
            MemoryTensorSource source = new MemoryTensorSource(Bnb4bitTensors.tensors(randomWeight(1, 2, 64, false, arena), P, arena));
            NamedTensor nf4 = source.tensors.remove(P + ".weight.quant_state.bitsandbytes__nf4");
            source.put(new NamedTensor(P + ".weight.quant_state.bitsandbytes__fp4", DType.U8, nf4.shape(), nf4.data()));
            assertTrue(Bnb4bitTensors.isQuantized(source, P));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bnb4bitTensors.read(source, P));
            assertTrue(e.getMessage().contains("fp4") && e.getMessage().contains("not supported") && e.getMessage().contains(P),
                    e.getMessage());
            assertFalse(Bnb4bitTensors.isQuantized(source, "model.layers.0.mlp.up_proj"));
            IllegalArgumentException blob = assertThrows(IllegalArgumentException.class, () -> QuantStateBlob.parse(
                    "{\"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [2, 64]}", "t.blob"));
            assertTrue(blob.getMessage().contains("fp4") && blob.getMessage().contains("not supported"), blob.getMessage());
        }
    }
}
