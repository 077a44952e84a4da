package org.jtune.train.report;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Writes the run's scalars as a TensorBoard event file ({@code --report-to tensorboard}): the numbers
 * {@code metrics.jsonl} has, under the tags transformers' TensorBoard callback uses ({@code train/loss},
 * {@code train/learning_rate}, {@code train/grad_norm}, {@code eval/loss}, {@code train/rewards/margins}, ...), in
 * {@code events.out.tfevents.TIME.HOST} in the given folder ({@code OUTPUT/runs}); {@code tensorboard --logdir
 * OUTPUT/runs} shows them.
 * <p>
 * The file is a sequence of TFRecords (length, masked CRC-32C of the length, the bytes, their masked CRC-32C) each
 * holding an {@code Event} protocol buffer, written here by hand: the first says the file version, the others hold a
 * {@code Summary} of {@code simple_value}s at a step.
 */
public final class TensorBoardWriter implements TrainingListener, AutoCloseable {
    /** The folder of the event files in a run's output folder, as transformers' default {@code logging_dir}. */
    public static final String FOLDER = "runs";

    private final Path file;
    private final OutputStream out;

    private TensorBoardWriter(Path file) throws IOException {
        this.file = file;
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        write(event(wallTime(), -1, "brain.Event:2", null));
    }

    /** A new event file in {@code folder}. */
    public static TensorBoardWriter create(Path folder) throws IOException {
        Files.createDirectories(folder);
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "localhost";
        }
        long seconds = System.currentTimeMillis() / 1000;
        Path file = folder.resolve("events.out.tfevents." + seconds + "." + host);
        for (int n = 1; Files.exists(file); n++) {
            file = folder.resolve("events.out.tfevents." + seconds + "." + host + "." + n);
        }
        return new TensorBoardWriter(file);
    }

    public Path file() {
        return file;
    }

    @Override
    public void onLog(TrainLog log) {
        Map<String, Double> scalars = new LinkedHashMap<>();
        scalars.put("train/loss", log.loss());
        scalars.put("train/learning_rate", log.learningRate());
        scalars.put("train/grad_norm", log.gradNorm());
        scalars.put("train/epoch", log.epoch());
        scalars.put("train/tokens_per_second", log.tokensPerSecond());
        log.metrics().forEach((name, value) -> scalars.put("train/" + name, value));
        write(event(wallTime(), log.step(), null, summary(scalars)));
    }

    @Override
    public void onEval(EvalLog log) {
        Map<String, Double> scalars = new LinkedHashMap<>();
        scalars.put("eval/loss", log.loss());
        log.metrics().forEach((name, value) -> scalars.put("eval/" + name, value));
        write(event(wallTime(), log.step(), null, summary(scalars)));
    }

    @Override
    public void onEnd() {
        close();
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file, e);
        }
    }

    private static double wallTime() {
        return System.currentTimeMillis() / 1000.0;
    }

    /** {@code Event}: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5. */
    static byte[] event(double wallTime, long step, String fileVersion, byte[] summary) {
        Proto p = new Proto();
        p.tag(1, 1).fixed64(Double.doubleToLongBits(wallTime));
        if (step >= 0) {
            p.tag(2, 0).varint(step);
        }
        if (fileVersion != null) {
            p.bytes(3, fileVersion.getBytes(StandardCharsets.UTF_8));
        }
        if (summary != null) {
            p.bytes(5, summary);
        }
        return p.toByteArray();
    }

    /** {@code Summary}: repeated value = 1, each {@code Value} with tag = 1 (string), simple_value = 2 (float). */
    static byte[] summary(Map<String, Double> scalars) {
        Proto s = new Proto();
        scalars.forEach((tag, value) -> {
            Proto v = new Proto();
            v.bytes(1, tag.getBytes(StandardCharsets.UTF_8));
            v.tag(2, 5).fixed32(Float.floatToIntBits(value.floatValue()));
            s.bytes(1, v.toByteArray());
        });
        return s.toByteArray();
    }

    /** One TFRecord: length, masked CRC of the length, data, masked CRC of the data; all little-endian. */
    private void write(byte[] data) {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length);
        ByteBuffer record = ByteBuffer.allocate(16 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        record.put(length.array()).putInt(maskedCrc(length.array())).put(data).putInt(maskedCrc(data));
        try {
            out.write(record.array());
            out.flush(); // TensorBoard reads the file while the run goes on
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** TFRecord's CRC: CRC-32C, rotated right by 15 bits, plus a constant. */
    static int maskedCrc(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    /** The few protocol buffer wire-format writes an Event needs. */
    private static final class Proto {
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

        Proto tag(int field, int wireType) {
            return varint((long) field << 3 | wireType);
        }

        Proto varint(long v) {
            while ((v & ~0x7fL) != 0) {
                bytes.write((int) (v & 0x7f) | 0x80);
                v >>>= 7;
            }
            bytes.write((int) v);
            return this;
        }

        Proto fixed64(long v) {
            for (int i = 0; i < 8; i++) {
                bytes.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Proto fixed32(int v) {
            for (int i = 0; i < 4; i++) {
                bytes.write(v >>> (8 * i));
            }
            return this;
        }

        Proto bytes(int field, byte[] b) {
            tag(field, 2).varint(b.length);
            bytes.writeBytes(b);
            return this;
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }
    }
}
