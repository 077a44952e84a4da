package org.jtune.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** A minimal safetensors reader for the golden tests (F32/BF16/F16 only), so they need no other package. */
final class TestSafetensors {
    private TestSafetensors() {}

    static Map<String, Tensor> read(Path file, Arena arena) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        MemorySegment data = arena.allocate(bytes.length - 8 - headerLength, 8);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 8 + headerLength, data, 0, data.byteSize());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode info = e.getValue();
            long[] shape = new long[info.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = info.get("shape").get(i).asLong();
            }
            long begin = info.get("data_offsets").get(0).asLong(), end = info.get("data_offsets").get(1).asLong();
            tensors.put(e.getKey(), Tensor.wrap(data.asSlice(begin, end - begin),
                    DType.fromSafetensors(info.get("dtype").asText()), shape));
        }
        return tensors;
    }
}
