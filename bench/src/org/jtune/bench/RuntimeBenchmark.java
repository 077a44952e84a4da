package org.jtune.bench;

import java.util.ArrayList;
import java.util.List;
import org.jtune.cuda.Context;
import org.jtune.cuda.CudaGraph;
import org.jtune.cuda.Device;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Event;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.PtxModule;
import org.jtune.cuda.Stream;

/**
 * The runtime layer's costs: kernel launch overhead (plain and replayed from a CUDA graph), pinned
 * host-device and device-device copy bandwidth, and the driver's compile time of the PTX files.
 * Each number is the median of several timed repetitions after a warm-up.
 */
final class RuntimeBenchmark implements BenchMain.Benchmark {
    private static final int REPEATS = 7;
    private static final int LAUNCHES = 20_000;
    private static final int GRAPH_KERNELS = 200;
    private static final int GRAPH_REPLAYS = 100;
    private static final long HOST_COPY_BYTES = 512L << 20;
    private static final long DEVICE_COPY_BYTES = 2L << 30;

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) {
        Context context = Context.primary(Device.get(0));
        List<BenchRecord> out = new ArrayList<>();
        try (Stream stream = context.createStream(); DeviceBuffer tiny = context.allocate(256)) {
            Kernel fill = context.module("fill").kernel("fill_f32");
            LaunchShape one = LaunchShape.of(1, 32);
            Runnable launchOnce = () -> fill.launch(stream, one, tiny, 1L, 1f);

            double[] plainHost = new double[REPEATS];
            double[] plainDevice = new double[REPEATS];
            for (int r = 0; r < REPEATS; r++) {
                Timing timing = time(context, stream, () -> {
                    for (int i = 0; i < LAUNCHES; i++) {
                        launchOnce.run();
                    }
                });
                plainHost[r] = timing.hostMicros / LAUNCHES;
                plainDevice[r] = timing.deviceMicros / LAUNCHES;
            }
            out.add(records.make("launch.plain.host_enqueue", BenchUtil.median(plainHost), "us", false));
            out.add(records.make("launch.plain.back_to_back", BenchUtil.median(plainDevice), "us", false));

            try (CudaGraph graph = CudaGraph.capture(stream, () -> {
                for (int i = 0; i < GRAPH_KERNELS; i++) {
                    launchOnce.run();
                }
            })) {
                double[] replay = new double[REPEATS];
                for (int r = 0; r < REPEATS; r++) {
                    Timing timing = time(context, stream, () -> {
                        for (int i = 0; i < GRAPH_REPLAYS; i++) {
                            graph.launch(stream);
                        }
                    });
                    replay[r] = timing.deviceMicros / (GRAPH_KERNELS * (double) GRAPH_REPLAYS);
                }
                out.add(records.make("launch.graph_replay.per_kernel", BenchUtil.median(replay), "us", false));
            }

            try (PinnedBuffer host = context.allocatePinned(HOST_COPY_BYTES);
                 DeviceBuffer device = context.allocate(HOST_COPY_BYTES)) {
                host.segment().fill((byte) 1);
                double[] toDevice = new double[REPEATS];
                double[] toHost = new double[REPEATS];
                for (int r = 0; r < REPEATS; r++) {
                    toDevice[r] = gbPerSecond(HOST_COPY_BYTES,
                            time(context, stream, () -> device.copyFromHostAsync(host.segment(), stream)).deviceMicros);
                    toHost[r] = gbPerSecond(HOST_COPY_BYTES,
                            time(context, stream, () -> device.copyToHostAsync(host.segment(), stream)).deviceMicros);
                }
                out.add(records.make("copy.pinned_host_to_device", BenchUtil.median(toDevice), "GB/s", true));
                out.add(records.make("copy.device_to_pinned_host", BenchUtil.median(toHost), "GB/s", true));
            }

            try (DeviceBuffer a = context.allocate(DEVICE_COPY_BYTES); DeviceBuffer b = context.allocate(DEVICE_COPY_BYTES)) {
                a.fillBytesAsync(3, stream);
                double[] copy = new double[REPEATS];
                for (int r = 0; r < REPEATS; r++) {
                    // Bytes read plus bytes written, the usual way of counting a copy's bandwidth.
                    copy[r] = gbPerSecond(2 * DEVICE_COPY_BYTES,
                            time(context, stream, () -> b.copyFromAsync(a, DEVICE_COPY_BYTES, stream)).deviceMicros);
                }
                out.add(records.make("copy.device_to_device", BenchUtil.median(copy), "GB/s", true));
            }
        }
        // Run with CUDA_CACHE_DISABLE=1 so that every load compiles instead of hitting the driver's cache.
        for (String name : List.of("fill", "scale_add", "reduce")) {
            double[] load = new double[REPEATS];
            double[] jit = new double[REPEATS];
            for (int r = 0; r < REPEATS; r++) {
                long t0 = System.nanoTime();
                try (PtxModule module = PtxModule.loadResource(context, name)) {
                    load[r] = (System.nanoTime() - t0) / 1e6;
                    jit[r] = module.jitMillis();
                }
            }
            out.add(records.make("ptx_load." + name, BenchUtil.median(load), "ms", false));
            out.add(records.make("ptx_jit_driver_reported." + name, BenchUtil.median(jit), "ms", false));
        }
        return out;
    }

    private record Timing(double hostMicros, double deviceMicros) {}

    /** Runs {@code work} once to warm up, then once between two events; host time covers the enqueueing. */
    private static Timing time(Context context, Stream stream, Runnable work) {
        work.run();
        stream.synchronize();
        try (Event start = new Event(context); Event end = new Event(context)) {
            start.record(stream);
            long t0 = System.nanoTime();
            work.run();
            long t1 = System.nanoTime();
            end.record(stream);
            double device = Event.elapsedMillis(start, end) * 1000.0;
            return new Timing((t1 - t0) / 1000.0, device);
        }
    }

    private static double gbPerSecond(long bytes, double micros) {
        return bytes / (micros * 1e3);
    }
}
