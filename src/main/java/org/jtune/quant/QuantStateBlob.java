package org.jtune.quant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.jtune.tensor.DType;

/**
 * The non-tensor part of a bitsandbytes QuantState, stored as the JSON blob tensor
 * {@code P.weight.quant_state.bitsandbytes__nf4} (spec §5.1). {@code nested} is null without
 * double quantization.
 */
public record QuantStateBlob(String quantType, int blocksize, DType dtype, long[] shape, Nested nested) {

    /** The nested (double quantization) fields: blocksize of the 8-bit blocks and the offset. */
    public record Nested(int blocksize, float offset) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> KEYS = Set.of("quant_type", "blocksize", "dtype", "shape",
            "nested_blocksize", "nested_dtype", "nested_offset");

    /** Copies the shape. */
    public QuantStateBlob {
        shape = shape.clone();
    }

    /** A copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The blob fields of a quant state. */
    public static QuantStateBlob of(QuantState state) {
        Nested nested = state.absmax() instanceof Absmax.DoubleQuantized dq
                ? new Nested(dq.nestedBlocksize(), dq.offset())
                : null;
        return new QuantStateBlob(QuantState.QUANT_TYPE, state.blocksize(), state.dtype(), state.shape(), nested);
    }

    /**
     * The JSON text as Python's {@code json.dumps} writes it: separators ", " and ": ", keys in
     * bitsandbytes' insertion order, the offset as Python's float repr.
     */
    public String toJson() {
        StringBuilder json = new StringBuilder();
        json.append("{\"quant_type\": \"").append(quantType).append('"');
        json.append(", \"blocksize\": ").append(blocksize);
        json.append(", \"dtype\": \"").append(TorchDtypeNames.name(dtype)).append('"');
        json.append(", \"shape\": [");
        for (int i = 0; i < shape.length; i++) {
            json.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        json.append(']');
        if (nested != null) {
            json.append(", \"nested_blocksize\": ").append(nested.blocksize());
            json.append(", \"nested_dtype\": \"float32\"");
            json.append(", \"nested_offset\": ").append(PythonFloats.repr(nested.offset()));
        }
        return json.append('}').toString();
    }

    /** Parses a blob (any JSON formatting); tensor names the blob tensor in error messages. */
    public static QuantStateBlob parse(String text, String tensor) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(tensor + ": quant state is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(tensor + ": quant state is not a JSON object");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String key = names.next();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(tensor + ": unknown quant state key \"" + key + "\"");
            }
        }
        String quantType = text(root, "quant_type", tensor);
        if (quantType.equals("fp4")) {
            throw new IllegalArgumentException(tensor + ": quant_type \"fp4\" is not supported (only nf4)");
        }
        if (!quantType.equals(QuantState.QUANT_TYPE)) {
            throw new IllegalArgumentException(tensor + ": unknown quant_type \"" + quantType + "\"");
        }
        int blocksize = Blocksizes.require(integer(root, "blocksize", tensor), tensor);
        DType dtype = TorchDtypeNames.parse(text(root, "dtype", tensor), tensor);
        long[] shape = shape(root, tensor);
        return new QuantStateBlob(quantType, blocksize, dtype, shape, nested(root, tensor));
    }

    private static Nested nested(JsonNode root, String tensor) {
        boolean any = root.has("nested_blocksize") || root.has("nested_dtype") || root.has("nested_offset");
        if (!any) {
            return null;
        }
        int blocksize = Blocksizes.require(integer(root, "nested_blocksize", tensor), tensor + " (nested)");
        String dtype = text(root, "nested_dtype", tensor);
        if (!dtype.equals("float32")) {
            throw new IllegalArgumentException(tensor + ": nested_dtype \"" + dtype + "\" is not supported (float32)");
        }
        JsonNode offset = root.get("nested_offset");
        if (offset == null || !offset.isNumber()) {
            throw new IllegalArgumentException(tensor + ": nested_offset missing or not a number");
        }
        // Python wrote the float32 offset widened to double; narrowing back is exact.
        return new Nested(blocksize, (float) offset.doubleValue());
    }

    private static long[] shape(JsonNode root, String tensor) {
        JsonNode node = root.get("shape");
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException(tensor + ": shape missing or not a non-empty list");
        }
        List<Long> dims = new ArrayList<>();
        for (JsonNode d : node) {
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() <= 0) {
                throw new IllegalArgumentException(tensor + ": shape " + node + " has an invalid dimension " + d);
            }
            dims.add(d.longValue());
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static String text(JsonNode root, String key, String tensor) {
        JsonNode node = root.get(key);
        if (node == null || !node.isTextual()) {
            throw new IllegalArgumentException(tensor + ": " + key + " missing or not a string");
        }
        return node.textValue();
    }

    private static long integer(JsonNode root, String key, String tensor) {
        JsonNode node = root.get(key);
        if (node == null || !node.isIntegralNumber() || !node.canConvertToLong()) {
            throw new IllegalArgumentException(tensor + ": " + key + " missing or not an integer");
        }
        return node.longValue();
    }
}
