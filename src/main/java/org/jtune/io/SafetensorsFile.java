package org.jtune.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file mapped read-only into memory: the header is parsed and validated on {@link #open},
 * tensor data is read straight from the mapping (never copied onto the heap unless asked for).
 * Segments returned by {@link #data} are valid until {@link #close}; using them after that throws
 * {@link IllegalStateException}. The file must not be truncated while it is open.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The reference reader's limit on the header length (bytes). */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;

    private static final int LENGTH_PREFIX = 8;

    private final Path path;
    private final Arena arena;
    private final MemorySegment dataBuffer;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment dataBuffer, SafetensorsHeaderParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.dataBuffer = dataBuffer;
        this.metadata = header.metadata();
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo info : header.tensors()) {
            byName.put(info.name(), info);
        }
        this.tensors = byName;
    }

    /** Maps and validates {@code path}; throws {@link SafetensorsFormatException} if it breaks the format. */
    public static SafetensorsFile open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            throw new SafetensorsFormatException(path, "is a directory, not a safetensors file");
        }
        // Shared so that tensor data can be read from any thread (e.g. parallel uploads).
        Arena arena = Arena.ofShared();
        IoErrors.requireRegularFile(path, "safetensors file");
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            if (fileSize < LENGTH_PREFIX) {
                throw new SafetensorsFormatException(path, "file is " + fileSize
                        + " bytes, too short for the 8-byte header length");
            }
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, arena).asReadOnly();
            long headerLength = mapping.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLength < 0 || headerLength > MAX_HEADER_LENGTH) {
                throw new SafetensorsFormatException(path, "header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the limit of " + MAX_HEADER_LENGTH + " bytes");
            }
            if (headerLength > fileSize - LENGTH_PREFIX) {
                throw new SafetensorsFormatException(path, "header length " + headerLength
                        + " runs past the end of the file (" + fileSize + " bytes)");
            }
            byte[] headerBytes = mapping.asSlice(LENGTH_PREFIX, headerLength).toArray(ValueLayout.JAVA_BYTE);
            long dataStart = LENGTH_PREFIX + headerLength;
            SafetensorsHeaderParser.Header header =
                    SafetensorsHeaderParser.parse(path, headerBytes, fileSize - dataStart);
            return new SafetensorsFile(path, arena, mapping.asSlice(dataStart), header);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Tensor names in the order the header lists them. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /** True if the file holds a tensor called {@code name}. */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The {@code __metadata__} map (empty if the file has none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Dtype, shape and byte range of {@code name}; throws if the file has no such tensor. */
    public TensorInfo info(String name) throws SafetensorsFormatException {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new SafetensorsFormatException(path, "no tensor \"" + name + "\" (the file has "
                    + tensors.size() + " tensors)");
        }
        return info;
    }

    /** The bytes of {@code name}: a read-only slice of the mapping, little-endian, row-major. */
    public MemorySegment data(String name) throws SafetensorsFormatException {
        TensorInfo info = info(name);
        return dataBuffer.asSlice(info.byteOffset(), info.byteSize());
    }

    /** Copies {@code name} onto the heap as float32; F32, F64, BF16 and F16 tensors are accepted. */
    public float[] readFloats(String name) throws SafetensorsFormatException {
        TensorInfo info = info(name);
        if (!FloatCodec.canDecode(info.dtype())) {
            throw new SafetensorsFormatException(path, "tensor \"" + name + "\" is " + info.dtype()
                    + ", not a float type (F32, F64, BF16 or F16)");
        }
        long count = info.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new SafetensorsFormatException(path, "tensor \"" + name + "\" has " + count + " elements "
                    + Arrays.toString(info.shape()) + ", too many for one Java array");
        }
        return FloatCodec.decode(data(name), info.dtype(), (int) count);
    }

    /** Unmaps the file; segments from {@link #data} become unusable. */
    @Override
    public void close() {
        arena.close();
    }
}
