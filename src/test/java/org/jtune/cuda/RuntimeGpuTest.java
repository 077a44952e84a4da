package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The runtime layer on a real GPU: ownership errors, copies, events, graphs, load and launch errors. */
@GpuTest
class RuntimeGpuTest {

    @Test
    void deviceReportsPlausibleProperties() {
        Device device = Device.get(0);
        assertTrue(device.computeCapability() >= 80, device.toString());
        assertTrue(device.multiprocessors() > 0 && device.totalMemory() > 0 && device.l2CacheBytes() > 0,
                device.toString());
        assertTrue(device.maxSharedPerBlockOptin() >= device.maxSharedPerBlock(), device.toString());
        Context.MemoryInfo memory = GpuFixture.context().memoryInfo();
        assertTrue(memory.free() > 0 && memory.free() <= memory.total(), memory.toString());
    }

    @Test
    void freedBuffersRefuseEveryUse() {
        DeviceBuffer buffer = GpuFixture.context().allocate(1024);
        buffer.close();
        IllegalStateException twice = assertThrows(IllegalStateException.class, buffer::close);
        assertTrue(twice.getMessage().contains("already freed"), twice.getMessage());
        assertThrows(IllegalStateException.class, buffer::address);
        assertThrows(IllegalStateException.class, () -> buffer.copyToHost(MemorySegment.ofArray(new byte[16])));

        PinnedBuffer pinned = GpuFixture.context().allocatePinned(64);
        MemorySegment segment = pinned.segment();
        pinned.close();
        assertThrows(IllegalStateException.class, () -> segment.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, pinned::close);
    }

    @Test
    void slicesAddressTheirBytesOfTheOwnerAndAllocateNothing() {
        Context context = GpuFixture.context();
        long before = context.allocationCount();
        DeviceBuffer owner = context.allocate(4096);
        assertEquals(before + 1, context.allocationCount(), "one cuMemAlloc counted for one allocate");
        DeviceBuffer slice = owner.slice(1024, 512);
        DeviceBuffer inner = slice.slice(256, 256);
        assertEquals(before + 1, context.allocationCount(), "slices are not allocations");
        assertEquals(owner.address() + 1024, slice.address(), "slice address");
        assertEquals(owner.address() + 1280, inner.address(), "slice of a slice address");
        assertEquals(256, inner.bytes(), "slice size");
        try (Stream stream = context.createStream()) {
            owner.fillBytesAsync(0, stream);
            inner.fillBytesAsync(7, stream);
            stream.synchronize();
        }
        byte[] host = new byte[4096];
        owner.copyToHost(MemorySegment.ofArray(host));
        for (int i = 0; i < host.length; i++) {
            assertEquals(i >= 1280 && i < 1536 ? 7 : 0, host[i], "byte " + i + " after filling the inner slice");
        }
        assertThrows(IllegalArgumentException.class, () -> owner.slice(4000, 100), "slice past the end");
        IllegalStateException closeSlice = assertThrows(IllegalStateException.class, slice::close);
        assertTrue(closeSlice.getMessage().contains("owns no memory"), closeSlice.getMessage());
        owner.close();
        assertThrows(IllegalStateException.class, inner::address, "slice of a freed buffer");
    }

    @Test
    void copiesThroughPinnedAndDeviceMemoryKeepEveryByte() {
        long seed = System.nanoTime();
        byte[] data = new byte[3 * 1024 * 1024 + 5];
        new SplittableRandom(seed).nextBytes(data);
        Context context = GpuFixture.context();
        try (Stream stream = context.createStream();
             PinnedBuffer source = context.allocatePinned(data.length);
             PinnedBuffer target = context.allocatePinned(data.length);
             DeviceBuffer first = context.allocate(data.length);
             DeviceBuffer second = context.allocate(data.length)) {
            MemorySegment.copy(MemorySegment.ofArray(data), 0, source.segment(), 0, data.length);
            target.segment().fill((byte) 0x5A);
            second.fillBytesAsync(0xA5, stream);
            first.copyFromHostAsync(source.segment(), stream);
            second.copyFromAsync(first, data.length, stream);
            second.copyToHostAsync(target.segment(), stream);
            stream.synchronize();
            assertArrayEquals(data, target.segment().toArray(ValueLayout.JAVA_BYTE), "seed " + seed);
        }
    }

    @Test
    void eventsTimeDeviceWork() {
        Context context = GpuFixture.context();
        Kernel fill = context.module("fill").kernel("fill_f32");
        long n = 64L << 20;
        try (Stream stream = context.createStream(); DeviceBuffer out = context.allocate(4 * n);
             Event start = new Event(context); Event end = new Event(context)) {
            start.record(stream);
            fill.launch(stream, LaunchShape.of(1024, 256), out, n, 1.5f);
            end.record(stream);
            float millis = Event.elapsedMillis(start, end);
            assertTrue(millis > 0 && millis < 10_000, "elapsed " + millis + " ms");
        }
    }

    @Test
    void capturedGraphReplaysTheSameWork() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int n = 10_001;
        float[] x = GpuFixture.randomFloats(random, n);
        float[] y = GpuFixture.randomFloats(random, n);
        float alpha = (float) random.nextDouble(-2, 2);
        Context context = GpuFixture.context();
        Kernel scaleAdd = context.module("scale_add").kernel("scale_add_f32");
        try (Stream stream = context.createStream();
             DeviceBuffer dx = GpuFixture.upload(context, x);
             DeviceBuffer dy = GpuFixture.upload(context, y)) {
            LaunchShape shape = LaunchShape.of(LaunchShape.blocksFor(n, 256), 256);
            try (CudaGraph graph = CudaGraph.capture(stream, () -> {
                for (int k = 0; k < 3; k++) {
                    scaleAdd.launch(stream, shape, dy, dx, alpha, (long) n);
                }
            })) {
                stream.synchronize();
                assertArrayEquals(y, GpuFixture.download(dy, n), "capture must not run the work");
                graph.launch(stream);
                graph.launch(stream);
                stream.synchronize();
            }
            float[] result = GpuFixture.download(dy, n);
            for (int i = 0; i < n; i++) {
                float expected = y[i];
                for (int k = 0; k < 6; k++) {
                    expected = Math.fma(alpha, x[i], expected);
                }
                assertEquals(expected, result[i], 0f, "element " + i + ", seed " + seed);
            }
        }
    }

    @Test
    void brokenPtxFailsWithTheCompilerLog() {
        String ptx = ".version 8.0\n.target sm_80\n.address_size 64\n"
                + ".visible .entry broken(.param .u64 p)\n{\n  mov.u32 %undeclared, 1;\n  ret;\n}\n";
        CudaException e = assertThrows(CudaException.class,
                () -> PtxModule.load(GpuFixture.context(), "broken.ptx", ptx));
        assertTrue(e.getMessage().contains("broken.ptx"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA_ERROR_"), e.getMessage());
        assertTrue(e.getMessage().contains("undeclared"), "the log names the bad register: " + e.getMessage());
    }

    @Test
    void launchesWithWrongArgumentsAreRefusedBeforeTheDriver() {
        Context context = GpuFixture.context();
        Kernel fill = context.module("fill").kernel("fill_f32");
        try (Stream stream = context.createStream(); DeviceBuffer out = context.allocate(64)) {
            IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                    () -> fill.launch(stream, LaunchShape.of(1, 32), out, 16L));
            assertTrue(count.getMessage().contains("takes 3 arguments"), count.getMessage());
            IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                    () -> fill.launch(stream, LaunchShape.of(1, 32), out, 16L, 1.0));
            assertTrue(type.getMessage().contains("value (.f32)"), type.getMessage());
            assertThrows(IllegalArgumentException.class, () -> context.module("fill").kernel("no_such_kernel"));
            assertThrows(IllegalArgumentException.class, () -> context.module("no_such_file"));
            CudaException shared = assertThrows(CudaException.class,
                    () -> fill.launch(stream, LaunchShape.of(1, 32, 1 << 20), out, 16L, 1f));
            assertTrue(shared.getMessage().contains("dynamic shared memory"), shared.getMessage());
            assertThrows(CudaException.class, () -> fill.allowDynamicSharedMemory(1 << 30));
        }
    }

    @Test
    void outOfMemorySaysHowMuchWasAskedAndIsFree() {
        Context context = GpuFixture.context();
        long tooMuch = context.memoryInfo().total() * 4;
        CudaException e = assertThrows(CudaException.class, () -> context.allocate(tooMuch));
        assertTrue(e.getMessage().contains("out of GPU memory") && e.getMessage().contains("free"), e.getMessage());
    }
}
