package org.jtune.model;

import org.jtune.tensor.Tensor;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Set;

/**
 * What the frozen base weights hold, summed from the buffers themselves: NF4 projections (packed codes and quant
 * state) and dense tensors, with what the same weights would take in bf16. {@link #line()} is the one-line
 * summary shown at load.
 *
 * @param quantizedBytes  bytes of the NF4 projections, packed codes and quant state
 * @param denseBytes      bytes of every dense tensor (a tied embedding counted once)
 * @param bf16Bytes       bytes of all these weights in bf16
 * @param embeddingsDescription how the embeddings and lm_head are held, e.g. "embeddings and lm_head bf16"
 */
public record MemoryReport(long quantizedBytes, long denseBytes, long bf16Bytes, int quantizedProjections,
                           int layers, String embeddingsDescription) {

    private static final double MIB = 1024.0 * 1024;
    private static final double GIB = 1024 * MIB;
    private static final int PROJECTIONS_PER_LAYER = LoraTarget.values().length;

    /** Sums the buffers of {@code weights}. */
    public static MemoryReport of(ModelWeights weights) {
        Set<Tensor> dense = Collections.newSetFromMap(new IdentityHashMap<>());
        long quantized = 0, bf16Elements = 0;
        int quantizedCount = 0;
        dense.add(weights.embedTokens());
        dense.add(weights.norm());
        dense.add(weights.lmHead());
        for (ModelWeights.Layer layer : weights.layers()) {
            dense.addAll(layer.norms().values());
            for (LoraTarget t : LoraTarget.values()) {
                if (layer.bias(t) != null) {
                    dense.add(layer.bias(t));
                }
                switch (layer.projection(t)) {
                    case FrozenLinearWeight.Dense d -> dense.add(d.tensor());
                    case FrozenLinearWeight.Nf4 q -> {
                        quantized += q.heldBytes();
                        bf16Elements += q.weight().state().elementCount();
                        quantizedCount++;
                    }
                }
            }
        }
        long denseBytes = 0;
        for (Tensor t : dense) {
            denseBytes += t.segment().byteSize();
            bf16Elements += t.size();
        }
        return new MemoryReport(quantized, denseBytes, bf16Elements * 2, quantizedCount, weights.layers().size(),
                embeddings(weights));
    }

    private static String embeddings(ModelWeights weights) {
        String embed = dtypeName(weights.embedTokens());
        if (weights.lmHead() == weights.embedTokens()) {
            return "tied embeddings and lm_head " + embed;
        }
        String head = dtypeName(weights.lmHead());
        return embed.equals(head) ? "embeddings and lm_head " + embed : "embeddings " + embed + ", lm_head " + head;
    }

    private static String dtypeName(Tensor t) {
        return t.dtype().name().toLowerCase(Locale.ROOT);
    }

    /** Everything held: NF4 projections plus dense tensors. */
    public long totalBytes() {
        return quantizedBytes + denseBytes;
    }

    /**
     * E.g. "base weights: 5.31 GiB nf4 (14.96 GiB in bf16), 7 x 32 projections quantized, embeddings and lm_head
     * bf16".
     */
    public String line() {
        int all = PROJECTIONS_PER_LAYER * layers;
        String projections = quantizedProjections == 0 ? "no projections quantized"
                : quantizedProjections == all ? PROJECTIONS_PER_LAYER + " x " + layers + " projections quantized"
                : quantizedProjections + " of " + PROJECTIONS_PER_LAYER + " x " + layers + " projections quantized";
        String held = quantizedProjections == 0 ? size(totalBytes())
                : size(totalBytes()) + " nf4 (" + size(bf16Bytes) + " in bf16)";
        return "base weights: " + held + ", " + projections + ", " + embeddingsDescription;
    }

    /** GiB, or MiB below one GiB (small test models). */
    private static String size(long bytes) {
        return bytes >= GIB ? String.format(Locale.ROOT, "%.2f GiB", bytes / GIB)
                : String.format(Locale.ROOT, "%.2f MiB", bytes / MIB);
    }
}
