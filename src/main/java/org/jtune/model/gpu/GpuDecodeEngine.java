package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.CudaGraph;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.Stream;
import org.jtune.model.DecodeEngine;
import org.jtune.model.DecodeSlots;
import org.jtune.model.FrozenLinearWeight;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.RopeFrequencies;
import org.jtune.kernels.MatvecKernels;
import org.jtune.quant.Absmax;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Generation on one GPU: a Llama, Mistral, Qwen2 or Qwen3 model (bf16 or NF4 base, optionally with LoRA adapters
 * applied on the fly) and a key/value cache of {@code maxSequences} slots of {@code capacity} positions, all in one allocation planned
 * up front. Prompts are prefilled through the training forward's kernels; a decode step runs the decode products
 * (every weight read once for up to 16 sequences) and is captured into a CUDA graph per batch size the first time
 * that size is seen, so a step costs one graph launch plus the input and logits transfers.
 *
 * <p>A merged model (adapters folded into the weights, as {@code jtune merge} writes it) is a base model here.
 * Decode calls with more than 16 sequences run in groups of 16.
 */
public final class GpuDecodeEngine implements DecodeEngine {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Context context;
    private final ModelConfig config;
    private final int maxSequences, capacity;
    private final MemoryPlan plan;
    private final String report;
    private final DeviceBuffer memory;
    private final DecodeBuffers buffers;
    private final DecodeKernels kernels;
    private final DecodeInputs inputs;
    private final DecodeForward forward;
    private final Stream stream;
    private final PinnedBuffer hostLogits;
    private final RopeFrequencies rope;
    private final Map<Integer, CudaGraph> graphs = new HashMap<>();
    private final DecodeSlots slots;
    private boolean adaptersEnabled = true;
    private boolean closed;

    /** The memory an engine would take, without a GPU (lora null for a base model). */
    public static MemoryPlan plan(ModelConfig config, BaseFormat format, LoraConfig lora, int maxSequences,
                                  int capacity) {
        requireSupported(config, lora, maxSequences, capacity);
        MemoryCarver carver = MemoryCarver.planning();
        new DecodeBuffers(carver, config, format, lora, maxSequences, capacity);
        return carver.plan(format.describe());
    }

    /**
     * Plans the engine's memory, refuses it with the sizes if it does not fit the free device memory, takes it in one
     * allocation and uploads the weights and adapters (null for the base model alone).
     *
     * @throws IllegalArgumentException if the model, the adapters or the shape are beyond what the kernels run
     * @throws IllegalStateException    if the plan does not fit the device's free memory
     */
    public static GpuDecodeEngine create(Context context, ModelConfig config, ModelWeights weights,
                                         LoraAdapters adapters, int maxSequences, int capacity) {
        LoraConfig lora = adapters == null ? null : adapters.config();
        requireSupported(config, lora, maxSequences, capacity);
        requireDecodable(config, weights);
        BaseFormat format = BaseFormat.of(weights);
        MemoryPlan plan = plan(config, format, lora, maxSequences, capacity);
        long free = context.memoryInfo().free();
        if (plan.totalBytes() > free) {
            throw new IllegalStateException("the decode engine needs " + MemoryPlan.size(plan.totalBytes()) + " ("
                    + plan.breakdown() + ") but the GPU has " + MemoryPlan.size(free) + " free: hold fewer sequences"
                    + " or fewer positions per sequence (the cache is " + MemoryPlan.size(plan.bytes(MemoryUse.CACHE))
                    + "), or load the base in 4 bits");
        }
        return new GpuDecodeEngine(context, config, weights, adapters, maxSequences, capacity, plan,
                plan.line(free));
    }

    private static void requireSupported(ModelConfig c, LoraConfig lora, int maxSequences, int capacity) {
        String model = c.architecture() + " (" + c.modelType() + ")";
        GpuLayerSupport.require(c, "the GPU decode engine");
        if (c.headDim() != 64 && c.headDim() != 128) {
            throw new IllegalArgumentException(model + " has head_dim " + c.headDim()
                    + "; GPU decoding supports 64 and 128");
        }
        for (int value : new int[] {c.hiddenSize(), c.intermediateSize()}) {
            if (value % 8 != 0) {
                throw new IllegalArgumentException(model + " has hidden_size " + c.hiddenSize()
                        + " and intermediate_size " + c.intermediateSize()
                        + "; the GPU kernels need multiples of 8 (rows are read as 16-byte vectors)");
            }
        }
        if (lora != null && lora.rank() % 8 != 0) {
            throw new IllegalArgumentException("LoRA rank " + lora.rank() + " is not a multiple of 8, which the GPU"
                    + " prefill GEMMs need (use 8, 16, 32, 64, ...)");
        }
        if (maxSequences < 1 || capacity < 1) {
            throw new IllegalArgumentException("a decode engine needs at least one sequence of one position, got "
                    + maxSequences + " sequences of " + capacity);
        }
    }

    /**
     * What the decode products need of the loaded weights: q, k, v of a layer in one format and gate, up in one
     * (each group is one launch), NF4 blocks of at least 64 elements that tile the rows, one nested map.
     */
    private static void requireDecodable(ModelConfig c, ModelWeights weights) {
        float[] nestedMap = null;
        for (int l = 0; l < weights.layers().size(); l++) {
            ModelWeights.Layer layer = weights.layers().get(l);
            sameFormat(l, layer, LoraTarget.Q, LoraTarget.K, LoraTarget.V);
            sameFormat(l, layer, LoraTarget.GATE, LoraTarget.UP);
            for (LoraTarget t : LoraTarget.values()) {
                if (layer.projection(t) instanceof FrozenLinearWeight.Nf4 q) {
                    int blocksize = q.weight().state().blocksize();
                    if (blocksize < 64 || t.inFeatures(c) % blocksize != 0) {
                        throw new IllegalArgumentException("layer " + l + " " + t.moduleName() + ": NF4 blocks of "
                                + blocksize + " elements over rows of " + t.inFeatures(c) + "; GPU decoding needs"
                                + " blocks of at least 64 that divide the rows");
                    }
                    if (q.weight().state().absmax() instanceof Absmax.DoubleQuantized dq) {
                        if (nestedMap == null) {
                            nestedMap = dq.nestedMap();
                        } else if (!Arrays.equals(nestedMap, dq.nestedMap())) {
                            throw new IllegalArgumentException("layer " + l + " " + t.moduleName() + ": its nested"
                                    + " quantization map differs from the first one; GPU decoding reads one map");
                        }
                    }
                }
            }
        }
    }

    private static void sameFormat(int l, ModelWeights.Layer layer, LoraTarget... targets) {
        ProjectionFormat first = ProjectionFormat.of(layer.projection(targets[0]));
        for (LoraTarget t : targets) {
            if (!ProjectionFormat.of(layer.projection(t)).equals(first)) {
                throw new IllegalArgumentException("layer " + l + ": " + t.moduleName() + " is held as "
                        + ProjectionFormat.of(layer.projection(t)) + " but " + targets[0].moduleName() + " as " + first
                        + "; GPU decoding runs them in one launch and needs one format");
            }
        }
    }

    private GpuDecodeEngine(Context context, ModelConfig config, ModelWeights weights, LoraAdapters adapters,
                            int maxSequences, int capacity, MemoryPlan plan, String report) {
        this.context = context;
        this.config = config;
        this.maxSequences = maxSequences;
        this.capacity = capacity;
        this.plan = plan;
        this.report = report;
        this.slots = new DecodeSlots(maxSequences, capacity, config.vocabSize());
        this.rope = new RopeFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling(),
                config.maxPositionEmbeddings());
        this.memory = context.allocate(plan.totalBytes());
        PinnedBuffer logitsHost = null;
        DecodeInputs in = null;
        Stream s = null;
        try {
            LoraConfig lora = adapters == null ? null : adapters.config();
            this.buffers = new DecodeBuffers(MemoryCarver.carving(memory), config, BaseFormat.of(weights), lora,
                    maxSequences, capacity);
            this.kernels = DecodeKernels.load(context);
            s = context.createStream();
            buffers.weights.upload(weights);
            // Copies from pageable memory may still be in flight on return; the stream does not wait for them.
            context.synchronize();
            if (adapters != null) {
                buffers.lora.upload(adapters, s, kernels.elementwise());
            }
            buffers.attentionWorkspace.counters().fillBytesAsync(0, s);
            in = new DecodeInputs(context, buffers.inputs, buffers.inputRows, config.headDim());
            logitsHost = context.allocatePinned(4L * MatvecKernels.MAX_BATCH * config.vocabSize());
            this.forward = new DecodeForward(config, buffers, kernels, in);
            s.synchronize();
        } catch (RuntimeException e) {
            if (logitsHost != null) {
                logitsHost.close();
            }
            if (in != null) {
                in.close();
            }
            if (s != null) {
                s.close();
            }
            memory.close();
            throw e;
        }
        this.stream = s;
        this.inputs = in;
        this.hostLogits = logitsHost;
    }

    /** One line: what the engine holds on the device, by use, and the device's free memory before it. */
    public String memoryReport() {
        return report;
    }

    public MemoryPlan memoryPlan() {
        return plan;
    }

    public ModelConfig config() {
        return config;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int maxSequences() {
        return maxSequences;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int length(int slot) {
        return slots.length(slot);
    }

    @Override
    public void reset(int slot) {
        slots.reset(slot);
    }

    @Override
    public void setAdaptersEnabled(boolean enabled) {
        this.adaptersEnabled = enabled;
    }

    private boolean adaptersOn() {
        return adaptersEnabled && buffers.lora != null;
    }

    @Override
    public void prefill(int slot, int[] tokens, float[] logits) {
        requireOpen();
        slots.checkPrefill(slot, tokens, logits);
        for (int from = 0; from < tokens.length; from += buffers.prefillChunk) {
            int count = Math.min(buffers.prefillChunk, tokens.length - from);
            int first = slots.length(slot);
            boolean last = from + count == tokens.length;
            inputs.prefillRows(slot, tokens, from, count, first);
            inputs.invFreq(rope.forMaxPosition(first + count - 1));
            inputs.upload(stream);
            forward.prefillChunk(stream, slot, first, count, adaptersOn(), last);
            if (last) {
                buffers.logits.copyToHostAsync(hostLogits.segment().asSlice(0, 4L * config.vocabSize()), stream);
            }
            // the pinned inputs are rewritten for the next chunk only once this one has run
            stream.synchronize();
            slots.advance(slot, count);
        }
        MemorySegment.copy(hostLogits.segment(), F32, 0, logits, 0, config.vocabSize());
    }

    @Override
    public void decode(int[] slotsOfStep, int[] tokens, float[] logits) {
        requireOpen();
        if (slotsOfStep.length == 0) {
            throw new IllegalArgumentException("decode of no slots; give one token per slot, 1 to " + maxSequences
                    + " slots");
        }
        int[] positions = slots.checkDecode(slotsOfStep, tokens, logits);
        int vocab = config.vocabSize();
        for (int from = 0; from < slotsOfStep.length; from += MatvecKernels.MAX_BATCH) {
            int rows = Math.min(MatvecKernels.MAX_BATCH, slotsOfStep.length - from);
            CudaGraph graph = graph(rows, adaptersOn());
            inputs.decodeRows(slotsOfStep, tokens, positions, from, rows);
            int maxPosition = 0;
            for (int i = from; i < from + rows; i++) {
                maxPosition = Math.max(maxPosition, positions[i]);
            }
            inputs.invFreq(rope.forMaxPosition(maxPosition));
            inputs.upload(stream);
            graph.launch(stream);
            buffers.logits.copyToHostAsync(hostLogits.segment().asSlice(0, 4L * rows * vocab), stream);
            stream.synchronize();
            MemorySegment.copy(hostLogits.segment(), F32, 0, logits, from * vocab, rows * vocab);
        }
        slots.advance(slotsOfStep);
    }

    /** The captured decode step for this many rows (captured on first use: shapes are fixed from then on). */
    private CudaGraph graph(int rows, boolean adapters) {
        int key = 2 * rows + (adapters ? 1 : 0);
        CudaGraph graph = graphs.get(key);
        if (graph == null) {
            graph = CudaGraph.capture(stream, () -> forward.decodeStep(stream, rows, adapters));
            graphs.put(key, graph);
        }
        return graph;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("decode engine used after close");
        }
    }

    /** Waits for the device, then frees the graphs, the pinned buffers and the device memory. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stream.synchronize();
        graphs.values().forEach(CudaGraph::close);
        graphs.clear();
        inputs.close();
        hostLogits.close();
        stream.close();
        memory.close();
    }
}
