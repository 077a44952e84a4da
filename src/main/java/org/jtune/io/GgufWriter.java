package org.jtune.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a GGUF file (version 3, little-endian, as llama.cpp reads it): the header with the metadata and the tensor
 * infos, then each tensor's data at an offset aligned to {@value #ALIGNMENT} bytes. Tensor data is streamed: each
 * tensor writes its bytes through a {@link TensorSink} when its turn comes, so no tensor has to be held whole. The
 * file is written under a temporary name in the same folder and renamed into place once complete, so an
 * interrupted export leaves no partial file under the real name.
 */
public final class GgufWriter {
    /** The GGUF version written. */
    public static final int VERSION = 3;
    /** ggml's default data alignment, used when the metadata names none (and none is written here). */
    public static final int ALIGNMENT = 32;
    private static final byte[] MAGIC = {'G', 'G', 'U', 'F'};

    private GgufWriter() {}

    /** Produces the bytes of one tensor, in file order, exactly {@link GgufTensorInfo#byteSize()} of them. */
    @FunctionalInterface
    public interface TensorContent {
        void writeTo(TensorSink sink) throws IOException;
    }

    /** A tensor to write: where it goes and how its bytes are made. */
    public record Tensor(GgufTensorInfo info, TensorContent content) {
    }

    /** Told after each tensor is written. */
    @FunctionalInterface
    public interface Progress {
        void tensorWritten(int index, int count, GgufTensorInfo info, long bytesDone, long bytesTotal);

        Progress NONE = (index, count, info, done, total) -> { };
    }

    /** Writes {@code file}; on any failure the file is left as it was. */
    public static void write(Path file, GgufMetadata metadata, List<Tensor> tensors, Progress progress)
            throws IOException {
        Set<String> names = new HashSet<>();
        for (Tensor t : tensors) {
            if (!names.add(t.info().name())) {
                throw new IllegalArgumentException("tensor " + t.info().name() + " is written twice");
            }
        }
        byte[] header = header(metadata, tensors);
        long dataStart = align(header.length);
        long total = dataStart;
        for (Tensor t : tensors) {
            total = align(total) + t.info().byteSize();
        }
        long fileBytes = total;
        AtomicFiles.write(file, channel -> {
            TensorSink sink = new TensorSink(channel);
            sink.write(header, 0, header.length);
            sink.pad(dataStart - header.length);
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                sink.pad(align(sink.position()) - sink.position());
                long start = sink.position();
                t.content().writeTo(sink);
                long written = sink.position() - start;
                if (written != t.info().byteSize()) {
                    throw new IllegalStateException("tensor " + t.info().name() + ": " + written
                            + " bytes were written, its type and shape make " + t.info().byteSize());
                }
                progress.tensorWritten(i, tensors.size(), t.info(), sink.position(), fileBytes);
            }
            sink.flush();
        });
    }

    /** Where the data of each tensor starts, relative to the data section (for readers and tests). */
    static long[] dataOffsets(List<GgufTensorInfo> infos) {
        long[] offsets = new long[infos.size()];
        long offset = 0;
        for (int i = 0; i < infos.size(); i++) {
            offset = align(offset);
            offsets[i] = offset;
            offset += infos.get(i).byteSize();
        }
        return offsets;
    }

    private static byte[] header(GgufMetadata metadata, List<Tensor> tensors) {
        GgufMetadata.Out out = new GgufMetadata.Out();
        byte[] kv = metadata.serialize();
        long[] offsets = dataOffsets(tensors.stream().map(Tensor::info).toList());
        for (int i = 0; i < tensors.size(); i++) {
            GgufTensorInfo info = tensors.get(i).info();
            long[] dims = info.dims();
            out.string(info.name());
            out.u32(dims.length);
            for (long d : dims) {
                out.u64(d);
            }
            out.u32(info.type().id());
            out.u64(offsets[i]);
        }
        byte[] infos = out.toByteArray();
        ByteBuffer header = ByteBuffer.allocate(4 + 4 + 8 + 8 + kv.length + infos.length)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).putInt(VERSION).putLong(tensors.size()).putLong(metadata.size()).put(kv).put(infos);
        return header.array();
    }

    private static long align(long position) {
        return (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** The file being written, buffered; tensors write their bytes here. */
    public static final class TensorSink {
        private static final int BUFFER_BYTES = 4 << 20;
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
        private long position;

        private TensorSink(FileChannel channel) {
            this.channel = channel;
        }

        /** Appends {@code length} bytes of {@code bytes} from {@code offset}. */
        public void write(byte[] bytes, int offset, int length) throws IOException {
            while (length > 0) {
                if (!buffer.hasRemaining()) {
                    flush();
                }
                int n = Math.min(length, buffer.remaining());
                buffer.put(bytes, offset, n);
                offset += n;
                length -= n;
                position += n;
            }
        }

        /** Bytes written so far, from the start of the file. */
        public long position() {
            return position;
        }

        private void pad(long zeros) throws IOException {
            byte[] z = new byte[(int) zeros];
            write(z, 0, z.length);
        }

        private void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
        }
    }
}
