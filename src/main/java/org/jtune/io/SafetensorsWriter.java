package org.jtune.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jtune.tensor.DType;

/**
 * Writes a safetensors file laid out as the reference writer does: tensors sorted by descending dtype
 * alignment then name, compact JSON header with {@code __metadata__} first, padded with spaces to a
 * multiple of 8. Data is streamed from its segments in chunks, never gathered on the heap; the file is
 * written under a temporary name and renamed into place.
 */
public final class SafetensorsWriter {
    /**
     * The reference implementation's dtype order (its {@code Dtype} enum, "increasing alignment"); the
     * writer sorts on it, descending. The project's {@link DType} declares its constants in another order.
     */
    private static final List<DType> ALIGNMENT_ORDER = List.of(
            DType.BOOL, DType.F4, DType.F6_E2M3, DType.F6_E3M2, DType.U8, DType.I8,
            DType.F8_E5M2, DType.F8_E4M3, DType.F8_E8M0, DType.I16, DType.U16, DType.F16, DType.BF16,
            DType.I32, DType.U32, DType.F32, DType.C64, DType.F64, DType.I64, DType.U64);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK_BYTES = 64 << 20;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, TensorData> tensors = new LinkedHashMap<>();

    /** Adds a {@code __metadata__} entry (e.g. {@code "format" -> "pt"}). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor; its data segment must stay valid until {@link #write} returns. */
    public SafetensorsWriter add(TensorData tensor) {
        if (tensors.putIfAbsent(tensor.name(), tensor) != null) {
            throw new IllegalArgumentException("tensor \"" + tensor.name() + "\" added twice");
        }
        return this;
    }

    /** Adds a tensor from its bytes, which must be {@code prod(shape) * bits / 8} long. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, MemorySegment data) {
        return add(new TensorData(name, dtype, shape, data));
    }

    /** Writes the file at {@code path}, replacing any file there only once it is complete. */
    public void write(Path path) throws IOException {
        List<TensorData> ordered = new ArrayList<>(tensors.values());
        ordered.sort(Comparator.comparingInt((TensorData t) -> -alignmentRank(t.dtype()))
                .thenComparing(TensorData::name));
        byte[] header = header(ordered);
        AtomicFiles.write(path, channel -> {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(channel, prefix);
            writeFully(channel, ByteBuffer.wrap(header));
            for (TensorData tensor : ordered) {
                writeSegment(channel, tensor.data());
            }
        });
    }

    private static int alignmentRank(DType dtype) {
        int rank = ALIGNMENT_ORDER.indexOf(dtype);
        if (rank < 0) {
            throw new IllegalStateException("no safetensors alignment order known for " + dtype);
        }
        return rank;
    }

    /** Compact JSON, {@code __metadata__} first (only if there is any), padded to a multiple of 8 bytes. */
    private byte[] header(List<TensorData> ordered) throws JsonProcessingException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeaderParser.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (TensorData tensor : ordered) {
            ObjectNode info = root.putObject(tensor.name());
            info.put("dtype", tensor.dtype().name());
            ArrayNode shape = info.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
            info.putArray("data_offsets").add(offset).add(offset + tensor.byteSize());
            offset += tensor.byteSize();
        }
        byte[] json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void writeSegment(FileChannel channel, MemorySegment data) throws IOException {
        for (long position = 0; position < data.byteSize(); position += CHUNK_BYTES) {
            long length = Math.min(CHUNK_BYTES, data.byteSize() - position);
            MemorySegment chunk = data.asSlice(position, length);
            boolean byteBufferView = chunk.heapBase().map(base -> base instanceof byte[]).orElse(true);
            // A heap segment over a non-byte array (e.g. float[]) has no byte buffer view; copy that chunk.
            writeFully(channel, byteBufferView ? chunk.asByteBuffer()
                    : ByteBuffer.wrap(chunk.toArray(ValueLayout.JAVA_BYTE)));
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
