package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jtune.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file in the exact layout of the reference (Python {@code save_file}) writer, built by hand from the
 * format description: tensors by descending dtype alignment then name, compact header with
 * {@code __metadata__} first, padded with spaces to a multiple of 8.
 */
class SafetensorsReferenceLayoutTest {
    @TempDir
    Path folder;

    private static final String HEADER = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"d\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
            + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[8,16]},"
            + "\"b.weight\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[16,20]},"
            + "\"e\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[20,22]},"
            + "\"c\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[22,25]}}"
            + " "; // 319 bytes of JSON + 1 space = 320, a multiple of 8

    private static final byte[] D = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}; // I64 0x0102030405060708
    private static final byte[] A = {0, 0, (byte) 0xC0, 0x3F, 0, 0, 0x10, (byte) 0xC0}; // F32 1.5, -2.25
    private static final byte[] B = {(byte) 0x80, 0x3F, 0x00, (byte) 0xBF}; // BF16 1.0, -0.5
    private static final byte[] E = {0x00, 0x40}; // F16 2.0
    private static final byte[] C = {1, 2, 3};

    private static byte[] referenceFile() {
        byte[] data = new byte[25];
        int at = 0;
        for (byte[] part : List.of(D, A, B, E, C)) {
            System.arraycopy(part, 0, data, at, part.length);
            at += part.length;
        }
        return RawSafetensors.bytes(HEADER, data);
    }

    @Test
    void readsReferenceLayout() throws IOException {
        Path file = RawSafetensors.write(folder, "ref.safetensors", referenceFile());
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("d", "a.weight", "b.weight", "e", "c"), st.names());
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertEquals(new TensorInfo("a.weight", DType.F32, new long[] {2, 1}, 8, 8), st.info("a.weight"));
            assertEquals(0x0102030405060708L,
                    st.data("d").get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
            assertArrayEquals(new float[] {1.5f, -2.25f}, st.readFloats("a.weight"));
            assertArrayEquals(new float[] {1.0f, -0.5f}, st.readFloats("b.weight"));
            assertArrayEquals(new float[] {2.0f}, st.readFloats("e"));
            assertArrayEquals(C, st.data("c").toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void writerProducesReferenceLayoutByteForByte() throws IOException {
        Path file = folder.resolve("ours.safetensors");
        // Added in an order unlike the reference layout: the writer must sort.
        new SafetensorsWriter()
                .metadata("format", "pt")
                .add(TensorData.of("c", DType.U8, new long[] {3}, C))
                .add(TensorData.of("e", DType.F16, new long[] {1}, E))
                .add(TensorData.of("b.weight", DType.BF16, new long[] {2}, B))
                .add(TensorData.of("a.weight", DType.F32, new long[] {2, 1}, A))
                .add(TensorData.of("d", DType.I64, new long[0], D))
                .write(file);
        assertArrayEquals(referenceFile(), Files.readAllBytes(file));
    }
}
