package org.jtune.model.gpu;

import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Stream;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.kernels.ElementwiseKernels;

import java.lang.foreign.MemorySegment;

/**
 * LoRA adapters held for inference: A [r, in] and B [out, r] of each adapted projection as float32, which the
 * decode products read (PEFT runs adapters in float32), and as bf16 copies, which the prefill GEMMs read. No
 * gradients, no optimizer state.
 */
final class DecodeLora {
    /** One adapted projection. */
    record Adapter(DeviceBuffer a, DeviceBuffer b, DeviceBuffer aBf16, DeviceBuffer bBf16) {}

    final LoraConfig config;
    private final Adapter[][] adapters;

    DecodeLora(MemoryCarver carver, ModelConfig model, LoraConfig config) {
        this.config = config;
        int r = config.rank();
        adapters = new Adapter[model.numLayers()][LoraTarget.values().length];
        for (int l = 0; l < model.numLayers(); l++) {
            for (LoraTarget t : config.targets()) {
                long aCount = (long) r * t.inFeatures(model), bCount = (long) t.outFeatures(model) * r;
                String name = "layer " + l + " " + t.moduleName() + " LoRA ";
                adapters[l][t.ordinal()] = new Adapter(
                        carver.take(MemoryUse.LORA, name + "A (fp32)", 4 * aCount),
                        carver.take(MemoryUse.LORA, name + "B (fp32)", 4 * bCount),
                        carver.take(MemoryUse.LORA, name + "A (bf16)", 2 * aCount),
                        carver.take(MemoryUse.LORA, name + "B (bf16)", 2 * bCount));
            }
        }
    }

    /** The adapter of one projection, or null if it is not adapted. */
    Adapter adapter(int layer, LoraTarget target) {
        return adapters[layer][target.ordinal()];
    }

    /** Copies the host matrices and rounds their bf16 copies (waits for the copies). */
    void upload(LoraAdapters host, Stream stream, ElementwiseKernels elementwise) {
        if (!host.config().equals(config)) {
            throw new IllegalArgumentException("adapters are " + host.config() + " but the decode engine was planned"
                    + " for " + config);
        }
        for (int l = 0; l < adapters.length; l++) {
            for (LoraTarget t : config.targets()) {
                LoraAdapters.Adapter h = host.adapter(l, t);
                copy(h.a().segment(), adapters[l][t.ordinal()].a());
                copy(h.b().segment(), adapters[l][t.ordinal()].b());
            }
        }
        // A copy from pageable memory may still be in flight on return, and the stream does not wait for it.
        stream.context().synchronize();
        for (Adapter[] layer : adapters) {
            for (LoraTarget t : config.targets()) {
                Adapter device = layer[t.ordinal()];
                elementwise.floatToBf16(stream, device.aBf16(), device.a(), device.a().bytes() / 4);
                elementwise.floatToBf16(stream, device.bBf16(), device.b(), device.b().bytes() / 4);
            }
        }
        stream.synchronize();
    }

    private static void copy(MemorySegment source, DeviceBuffer target) {
        if (source.byteSize() != target.bytes()) {
            throw new IllegalArgumentException("LoRA matrix of " + source.byteSize() + " bytes for a device buffer of "
                    + target.bytes());
        }
        target.copyFromHost(source);
    }
}
