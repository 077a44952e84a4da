package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Event;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.Stream;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The residual stream between layers: where layer l reads its input and writes its output in forward, and where
 * backward finds each layer's input again. On the device there is one buffer per layer boundary; offloaded, two
 * device slots alternate and every layer input is also copied to pinned host memory on a copy stream while the
 * layer computes, then copied back one layer ahead of backward. Events order the two streams: a slot is
 * overwritten only after its copy out, and read only after its copy in.
 */
final class LayerInputs implements AutoCloseable {
    private final List<DeviceBuffer> device;
    private final int layers;
    private final long layerBytes;
    private final boolean offloaded;
    // offloaded only
    private final Stream copyStream;
    private final PinnedBuffer host;
    private final Event[] copiedOut, copiedIn;
    private final Event slotFree, inputReady, copiesDone;
    private long bytes;

    LayerInputs(Context context, List<DeviceBuffer> device, int layers, long layerBytes, boolean offloaded) {
        this.device = device;
        this.layers = layers;
        this.layerBytes = layerBytes;
        this.offloaded = offloaded;
        if (offloaded) {
            copyStream = context.createStream();
            host = context.allocatePinned(layerBytes * layers);
            copiedOut = events(context, layers);
            copiedIn = events(context, layers);
            slotFree = new Event(context);
            inputReady = new Event(context);
            copiesDone = new Event(context);
        } else {
            copyStream = null;
            host = null;
            copiedOut = copiedIn = null;
            slotFree = inputReady = copiesDone = null;
        }
    }

    private static Event[] events(Context context, int count) {
        Event[] events = new Event[count];
        for (int i = 0; i < count; i++) {
            events[i] = new Event(context);
        }
        return events;
    }

    /** Starts a micro-batch whose layer inputs are {@code bytes} long. */
    void begin(long bytes) {
        this.bytes = bytes;
    }

    /** The input of layer {@code l} (the output of layer l-1; for l = 0, of the embedding). */
    DeviceBuffer input(int l) {
        return device.get(offloaded ? l % 2 : l);
    }

    /** The output of the last layer. */
    DeviceBuffer lastOutput() {
        return input(layers);
    }

    /**
     * Call before queuing layer l's forward: its output slot must have been copied out (it held layer l-1's
     * input), and its input starts copying out now, alongside the layer's compute.
     */
    void beforeForward(int l, Stream compute) {
        if (!offloaded) {
            return;
        }
        if (l > 0) {
            compute.waitFor(copiedOut[l - 1]);
        }
        inputReady.record(compute);
        copyStream.waitFor(inputReady);
        input(l).copyToHostAsync(hostLayer(l), copyStream);
        copiedOut[l].record(copyStream);
    }

    /**
     * Call before queuing a forward that no backward follows (whose layers skip {@link #beforeForward}): the
     * slots it writes may still be copied out for an earlier forward, so compute waits for the copies in flight.
     */
    void beforeForwardWithoutBackward(Stream compute) {
        if (!offloaded) {
            return;
        }
        copiesDone.record(copyStream);
        compute.waitFor(copiesDone);
    }

    /**
     * Call before queuing layer l's backward (everything that reads layer l+1's slot is queued by then): waits
     * for layer l's input to be back on the device, and starts copying layer l-1's input into the other slot.
     */
    void beforeBackward(int l, Stream compute) {
        if (!offloaded) {
            return;
        }
        // The last layer's input never left its slot: the forward ended with it there.
        if (l < layers - 1) {
            compute.waitFor(copiedIn[l]);
        }
        if (l > 0) {
            slotFree.record(compute);
            copyStream.waitFor(slotFree);
            input(l - 1).copyFromHostAsync(hostLayer(l - 1), copyStream);
            copiedIn[l - 1].record(copyStream);
        }
    }

    private MemorySegment hostLayer(int l) {
        return host.segment().asSlice(l * layerBytes, bytes);
    }

    @Override
    public void close() {
        if (!offloaded) {
            return;
        }
        copyStream.synchronize();
        for (Event e : copiedOut) {
            e.close();
        }
        for (Event e : copiedIn) {
            e.close();
        }
        slotFree.close();
        inputReady.close();
        copiesDone.close();
        host.close();
        copyStream.close();
    }
}
