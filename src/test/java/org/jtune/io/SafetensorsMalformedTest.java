package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed files: each must give a SafetensorsFormatException naming the file and the fault. */
class SafetensorsMalformedTest {
    @TempDir
    Path folder;

    private static final String F32_2 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":";

    /** Opens {@code content} and returns the message of the exception it must raise. */
    private String failure(byte[] content, String... expectedFragments) throws IOException {
        Path file = RawSafetensors.write(folder, "bad.safetensors", content);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsFile.open(file).close());
        String message = e.getMessage();
        assertTrue(message.contains(file.toString()), "message should name the file: " + message);
        for (String fragment : expectedFragments) {
            assertTrue(message.contains(fragment), "message should contain \"" + fragment + "\": " + message);
        }
        return message;
    }

    private String failure(String header, int dataBytes, String... expectedFragments) throws IOException {
        return failure(RawSafetensors.bytes(header, new byte[dataBytes]), expectedFragments);
    }

    @Test
    void zeroLengthFile() throws IOException {
        failure(new byte[0], "0 bytes", "8-byte header length");
    }

    @Test
    void truncatedLengthPrefix() throws IOException {
        failure(new byte[] {2, 0, 0, 0, 0}, "5 bytes");
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        byte[] header = "{}".getBytes(StandardCharsets.US_ASCII);
        failure(RawSafetensors.bytes(64, header, new byte[0]), "header length 64", "10 bytes");
    }

    @Test
    void headerLengthOverLimit() throws IOException {
        failure(RawSafetensors.bytes(100_000_001L, new byte[] {'{', '}'}, new byte[0]),
                "100000001", "limit of 100000000");
    }

    @Test
    void headerLengthAboveSignedRange() throws IOException {
        failure(RawSafetensors.bytes(-1L, new byte[] {'{', '}'}, new byte[0]), "18446744073709551615");
    }

    @Test
    void truncatedData() throws IOException {
        failure("{\"w\":" + F32_2 + "[0,8]}}", 5, "need 8 bytes", "has 5");
    }

    @Test
    void nonJsonHeader() throws IOException {
        failure("{\"w\": nonsense}", 0, "not valid JSON");
    }

    @Test
    void trailingGarbageAfterJsonObject() throws IOException {
        failure("{} {}", 0, "not valid JSON");
    }

    @Test
    void headerNotAnObject() throws IOException {
        failure("[1, 2]", 0, "must start with '{'");
        failure("  {}", 0, "must start with '{'");
    }

    @Test
    void emptyHeader() throws IOException {
        failure("", 0, "empty");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        failure(RawSafetensors.bytes(header.length, header, new byte[0]), "UTF-8");
    }

    @Test
    void unknownDtype() throws IOException {
        failure("{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"w\"", "F33");
        // dtype names are case-sensitive, as in the reference reader
        failure("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype \"f32\"");
    }

    @Test
    void negativeShape() throws IOException {
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "\"w\"", "shape", "[-2]");
    }

    @Test
    void nonIntegerShape() throws IOException {
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "\"w\"", "shape");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "\"w\"", "shape");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "\"w\"", "shape");
    }

    @Test
    void missingField() throws IOException {
        failure("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"w\"", "no \"dtype\"");
    }

    @Test
    void tensorEntryNotAnObject() throws IOException {
        failure("{\"w\":[0,8]}", 8, "\"w\"", "must be an object");
    }

    @Test
    void offsetsReversed() throws IOException {
        failure("{\"w\":" + F32_2 + "[8,0]}}", 8, "\"w\"", "[8, 0]", "reversed");
    }

    @Test
    void offsetsNotAPair() throws IOException {
        failure("{\"w\":" + F32_2 + "[0,8,16]}}", 8, "\"w\"", "[begin, end]");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        failure("{\"a\":" + F32_2 + "[0,8]},\"b\":" + F32_2 + "[8,16]}}", 12, "need 16 bytes", "has 12");
    }

    @Test
    void overlappingTensors() throws IOException {
        failure("{\"a\":" + F32_2 + "[0,8]},\"b\":" + F32_2 + "[4,12]}}", 12, "\"a\"", "\"b\"", "overlap");
    }

    @Test
    void sameRangeTwice() throws IOException {
        failure("{\"a\":" + F32_2 + "[0,8]},\"b\":" + F32_2 + "[0,8]}}", 8, "overlap");
    }

    @Test
    void holeBetweenTensors() throws IOException {
        failure("{\"a\":" + F32_2 + "[0,8]},\"b\":" + F32_2 + "[12,20]}}", 20, "hole of 4 bytes", "\"a\"", "\"b\"");
    }

    @Test
    void holeAtStart() throws IOException {
        failure("{\"a\":" + F32_2 + "[4,12]}}", 12, "hole of 4 bytes", "\"a\"", "not 0");
    }

    @Test
    void trailingBytes() throws IOException {
        failure("{\"a\":" + F32_2 + "[0,8]}}", 11, "3 trailing bytes");
    }

    @Test
    void sizeMismatchWithShape() throws IOException {
        failure("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8,
                "\"w\"", "hold 8 bytes", "needs 12");
    }

    @Test
    void subByteTensorOfPartialBytes() throws IOException {
        failure("{\"w\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1, "\"w\"", "12 bits");
    }

    @Test
    void shapeProductOverflows() throws IOException {
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8,
                "\"w\"", "overflows");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8,
                "\"w\"", "shape");
    }

    @Test
    void duplicateNames() throws IOException {
        failure("{\"a\":" + F32_2 + "[0,8]},\"a\":" + F32_2 + "[8,16]}}", 16, "duplicate names", "'a'");
    }

    @Test
    void nonStringMetadataValue() throws IOException {
        failure("{\"__metadata__\":{\"format\":\"pt\",\"step\":3}}", 0, "__metadata__", "\"step\"", "string");
    }

    @Test
    void metadataNotAnObject() throws IOException {
        failure("{\"__metadata__\":[\"pt\"]}", 0, "__metadata__");
    }

    @Test
    void missingTensorNamesTensorAndFile() throws IOException {
        Path file = RawSafetensors.write(folder, "ok.safetensors",
                RawSafetensors.bytes("{\"a\":" + F32_2 + "[0,8]}}", new byte[8]));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> st.data("b"));
            assertTrue(e.getMessage().contains("\"b\"") && e.getMessage().contains(file.toString()), e.getMessage());
        }
    }

    @Test
    void readFloatsRefusesIntegerTensor() throws IOException {
        Path file = RawSafetensors.write(folder, "ints.safetensors", RawSafetensors.bytes(
                "{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> st.readFloats("i"));
            assertTrue(e.getMessage().contains("\"i\"") && e.getMessage().contains("I32"), e.getMessage());
        }
    }

    @Test
    void acceptsPaddingNullMetadataAndEmptyTensors() throws IOException {
        // Spaces after the object, null metadata, a zero-size tensor sharing offset 0 with a real one.
        String header = "{\"__metadata__\":null,\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                + "\"a\":" + F32_2 + "[0,8]}}      ";
        Path file = RawSafetensors.write(folder, "ok.safetensors", RawSafetensors.bytes(header, new byte[8]));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("z", "a"), st.names());
            assertEquals(0, st.data("z").byteSize());
            assertTrue(st.metadata().isEmpty());
        }
    }
}
