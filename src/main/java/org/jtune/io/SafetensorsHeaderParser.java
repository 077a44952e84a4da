package org.jtune.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jtune.tensor.DType;

/**
 * Parses and validates a safetensors JSON header with the rules of the reference reader
 * ({@code Metadata::validate}): known dtypes, shapes of non-negative integers, byte ranges that match the
 * shape and tile the data buffer exactly, string metadata values, no duplicate names.
 */
final class SafetensorsHeaderParser {
    static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper STRICT_JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** The validated header: tensors in the order the header lists them, and the metadata. */
    record Header(List<TensorInfo> tensors, Map<String, String> metadata) {}

    private final Path file;

    private SafetensorsHeaderParser(Path file) {
        this.file = file;
    }

    /**
     * Parses {@code headerBytes} (the N bytes after the length prefix) of {@code file}, whose data buffer
     * (everything after the header) is {@code dataLength} bytes long.
     */
    static Header parse(Path file, byte[] headerBytes, long dataLength) throws SafetensorsFormatException {
        return new SafetensorsHeaderParser(file).parse(headerBytes, dataLength);
    }

    private Header parse(byte[] headerBytes, long dataLength) throws SafetensorsFormatException {
        if (headerBytes.length == 0 || headerBytes[0] != '{') {
            throw error("header must start with '{' (a JSON object)"
                    + (headerBytes.length == 0 ? " but is empty" : " but starts with byte 0x"
                    + Integer.toHexString(headerBytes[0] & 0xFF)));
        }
        JsonNode root = readJson(decodeUtf8(headerBytes));
        if (!root.isObject()) {
            throw error("header is not a JSON object");
        }
        Map<String, String> metadata = Map.of();
        List<TensorInfo> tensors = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(field.getValue());
            } else {
                tensors.add(parseTensor(field.getKey(), field.getValue()));
            }
        }
        checkTiling(tensors, dataLength);
        return new Header(Collections.unmodifiableList(tensors), metadata);
    }

    private String decodeUtf8(byte[] bytes) throws SafetensorsFormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw error("header is not valid UTF-8", e);
        }
    }

    private JsonNode readJson(String text) throws SafetensorsFormatException {
        try {
            return STRICT_JSON.readTree(text);
        } catch (JsonProcessingException e) {
            // Jackson's message says what is wrong and where (line/column), e.g. a duplicate field name.
            String where = e.getLocation() == null ? "" : " at " + e.getLocation().offsetDescription();
            String what = e.getOriginalMessage().startsWith("Duplicate field")
                    ? "header repeats a name (duplicate names are not allowed): " : "header is not valid JSON: ";
            throw error(what + e.getOriginalMessage() + where, e);
        }
    }

    private Map<String, String> parseMetadata(JsonNode node) throws SafetensorsFormatException {
        if (node.isNull()) {
            return Map.of(); // the reference reader treats null as absent metadata
        }
        if (!node.isObject()) {
            throw error(METADATA_KEY + " must be an object of strings, found " + node.getNodeType());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : node.properties()) {
            if (!entry.getValue().isTextual()) {
                throw error(METADATA_KEY + " value of \"" + entry.getKey() + "\" must be a string, found "
                        + entry.getValue().getNodeType() + " " + entry.getValue());
            }
            metadata.put(entry.getKey(), entry.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private TensorInfo parseTensor(String name, JsonNode node) throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw error(tensor(name) + " must be an object with dtype, shape and data_offsets, found "
                    + node.getNodeType());
        }
        DType dtype = parseDtype(name, required(name, node, "dtype"));
        long[] shape = parseIntegers(name, "shape", required(name, node, "shape"));
        long[] offsets = parseIntegers(name, "data_offsets", required(name, node, "data_offsets"));
        if (offsets.length != 2) {
            throw error(tensor(name) + " data_offsets must be [begin, end], found " + Arrays.toString(offsets));
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw error(tensor(name) + " data_offsets [" + begin + ", " + end + "] are reversed (begin > end)");
        }
        long expectedBytes = byteSize(name, dtype, shape);
        if (end - begin != expectedBytes) {
            throw error(tensor(name) + " data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes but " + dtype + " " + Arrays.toString(shape) + " needs " + expectedBytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end - begin);
    }

    private JsonNode required(String name, JsonNode node, String field) throws SafetensorsFormatException {
        JsonNode value = node.get(field);
        if (value == null) {
            throw error(tensor(name) + " has no \"" + field + "\"");
        }
        return value;
    }

    private DType parseDtype(String name, JsonNode node) throws SafetensorsFormatException {
        if (!node.isTextual()) {
            throw error(tensor(name) + " dtype must be a string, found " + node);
        }
        String text = node.textValue();
        for (DType dtype : DType.values()) {
            if (dtype.name().equals(text)) { // exact: the format's names are case-sensitive
                return dtype;
            }
        }
        throw error(tensor(name) + " has unknown dtype \"" + text + "\"");
    }

    private long[] parseIntegers(String name, String field, JsonNode node) throws SafetensorsFormatException {
        if (!node.isArray()) {
            throw error(tensor(name) + " " + field + " must be an array of non-negative integers, found " + node);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode item = node.get(i);
            if (!item.isIntegralNumber() || !item.canConvertToLong() || item.longValue() < 0) {
                throw error(tensor(name) + " " + field + " must hold non-negative integers, found " + node);
            }
            values[i] = item.longValue();
        }
        return values;
    }

    private long byteSize(String name, DType dtype, long[] shape) throws SafetensorsFormatException {
        try {
            long count = 1;
            for (long dim : shape) {
                count = Math.multiplyExact(count, dim);
            }
            long bits = Math.multiplyExact(count, (long) dtype.bits());
            if (bits % 8 != 0) {
                throw error(tensor(name) + " " + dtype + " " + Arrays.toString(shape) + " is " + bits
                        + " bits, not a whole number of bytes");
            }
            return bits / 8;
        } catch (ArithmeticException e) {
            throw error(tensor(name) + " shape " + Arrays.toString(shape) + " of " + dtype + " overflows 64 bits");
        }
    }

    /** Sorted by offsets, the tensors must start at 0 and follow each other with no gap or overlap. */
    private void checkTiling(List<TensorInfo> tensors, long dataLength) throws SafetensorsFormatException {
        List<TensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorInfo::byteOffset)
                .thenComparingLong(t -> t.byteOffset() + t.byteSize()));
        long end = 0;
        TensorInfo previous = null;
        for (TensorInfo t : byOffset) {
            if (t.byteOffset() < end) {
                throw error(tensor(t.name()) + " begins at byte " + t.byteOffset() + " of the data buffer, inside "
                        + tensor(previous.name()) + " which ends at " + end + ": the tensors overlap");
            }
            if (t.byteOffset() > end) {
                throw error("hole of " + (t.byteOffset() - end) + " bytes in the data buffer: "
                        + (previous == null ? "the first tensor " + tensor(t.name()) + " begins at "
                                + t.byteOffset() + ", not 0"
                                : tensor(previous.name()) + " ends at " + end + " but the next, "
                                + tensor(t.name()) + ", begins at " + t.byteOffset()));
            }
            end = t.byteOffset() + t.byteSize();
            previous = t;
        }
        if (end > dataLength) {
            throw error("the tensors need " + end + " bytes of data but the file has " + dataLength
                    + " after the header (truncated file?)");
        }
        if (end < dataLength) {
            throw error("the data buffer is " + dataLength + " bytes but the tensors end at " + end + ": "
                    + (dataLength - end) + " trailing bytes");
        }
    }

    private static String tensor(String name) {
        return "tensor \"" + name + "\"";
    }

    private SafetensorsFormatException error(String detail) {
        return new SafetensorsFormatException(file, detail);
    }

    private SafetensorsFormatException error(String detail, Throwable cause) {
        return new SafetensorsFormatException(file, detail, cause);
    }
}
