package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Event;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.Stream;
import org.jtune.kernels.FlashAttention;
import org.jtune.model.Batch;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeFrequencies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Moves a micro-batch's inputs to the device: checked and laid out on the host in one of two pinned staging
 * areas, then one asynchronous copy. The two areas alternate, each guarded by an event, so the host prepares the
 * next micro-batch while the device still copies the last, and never overwrites a copy in flight.
 */
final class StepInputs implements AutoCloseable {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A micro-batch on the device: its sizes and documents, and the device parts holding it. */
    record Loaded(int tokens, FlashAttention.Documents documents, DeviceBuffer tokenIds, DeviceBuffer positions,
                  DeviceBuffer targets, DeviceBuffer cuSeqlens, DeviceBuffer invFreq) {}

    private final ModelConfig config;
    private final InputLayout layout;
    private final DeviceBuffer device;
    private final PinnedBuffer staging;
    private final Event[] copied = new Event[2];
    private final RopeFrequencies rope;
    private int next;

    StepInputs(Context context, ModelConfig config, InputLayout layout, DeviceBuffer device) {
        this.config = config;
        this.layout = layout;
        this.device = device;
        this.staging = context.allocatePinned(2 * layout.bytes());
        for (int i = 0; i < copied.length; i++) {
            // Waiting on an event never recorded returns at once: the first use of each area does not wait.
            copied[i] = new Event(context);
        }
        this.rope = new RopeFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling(),
                config.maxPositionEmbeddings());
    }

    /**
     * Targets that the loss counts: the HF shift (the logits at t score {@code labels[t+1]} of the same row), labels
     * other than -100. Checks every label.
     */
    static int labelledTokens(Batch b, int vocab) {
        int labelled = 0;
        for (int i = 0; i < b.tokenCount(); i++) {
            if (target(b, i, vocab) != Batch.IGNORE_INDEX) {
                labelled++;
            }
        }
        return labelled;
    }

    private static int target(Batch b, int i, int vocab) {
        int seqLen = b.seqLen();
        int target = (i % seqLen) < seqLen - 1 ? b.labels()[i + 1] : Batch.IGNORE_INDEX;
        if (target != Batch.IGNORE_INDEX && (target < 0 || target >= vocab)) {
            throw new IllegalArgumentException("label " + target + " at row " + (i / seqLen) + ", token "
                    + (i % seqLen + 1) + " is outside [0, " + vocab + ") and is not -100");
        }
        return target;
    }

    /** Queues the copy of {@code b}'s inputs on {@code stream}; the batch must fit the planned size. */
    Loaded load(Batch b, Stream stream) {
        int n = b.tokenCount(), vocab = config.vocabSize();
        if (n > layout.maxTokens()) {
            throw new IllegalArgumentException("micro-batch of " + b.batchSize() + " x " + b.seqLen() + " = " + n
                    + " tokens exceeds the " + layout.maxTokens() + " tokens the GPU step was planned for");
        }
        int half = next;
        next ^= 1;
        copied[half].synchronize();
        MemorySegment host = staging.segment().asSlice(half * layout.bytes(), layout.bytes());
        int maxPosition = 0;
        int documents = 0;
        for (int i = 0; i < n; i++) {
            int token = b.tokens()[i];
            if (token < 0 || token >= vocab) {
                throw new IllegalArgumentException("token id " + token + " at row " + (i / b.seqLen()) + ", token "
                        + (i % b.seqLen()) + " is outside the vocabulary [0, " + vocab + ")");
            }
            host.set(I32, layout.tokens() + 4L * i, token);
            host.set(I32, layout.positions() + 4L * i, b.positions()[i]);
            host.set(I32, layout.targets() + 4L * i, target(b, i, vocab));
            maxPosition = Math.max(maxPosition, b.positions()[i]);
            // A document starts at each row start and wherever the document id changes.
            if (i % b.seqLen() == 0 || b.documentIds()[i] != b.documentIds()[i - 1]) {
                host.set(I32, layout.cuSeqlens() + 4L * documents++, i);
            }
        }
        host.set(I32, layout.cuSeqlens() + 4L * documents, n);
        int[] offsets = new int[documents + 1];
        MemorySegment.copy(host, I32, layout.cuSeqlens(), offsets, 0, documents + 1);
        float[] invFreq = rope.forMaxPosition(maxPosition);
        MemorySegment.copy(invFreq, 0, host, F32, layout.invFreq(), invFreq.length);
        device.copyFromHostAsync(host, stream);
        copied[half].record(stream);
        return new Loaded(n, new FlashAttention.Documents(offsets),
                device.slice(layout.tokens(), 4L * n), device.slice(layout.positions(), 4L * n),
                device.slice(layout.targets(), 4L * n), device.slice(layout.cuSeqlens(), 4L * (documents + 1)),
                device.slice(layout.invFreq(), 4L * layout.halfHeadDim()));
    }

    @Override
    public void close() {
        for (Event e : copied) {
            e.close();
        }
        staging.close();
    }
}
