package org.jtune.model.gpu;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.PinnedBuffer;
import org.jtune.cuda.Stream;
import org.jtune.kernels.AdamWKernels;
import org.jtune.kernels.FlashAttention;
import org.jtune.kernels.FusedCrossEntropy;
import org.jtune.kernels.GemmKernels;
import org.jtune.model.Batch;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The LoRA / QLoRA training step of a Llama, Mistral, Qwen2 or Qwen3 model on one GPU: forward to the loss, the
 * hand-derived backward to the LoRA gradients, gradient accumulation over micro-batches and the AdamW update, all
 * queued on one stream with no device allocation after construction. For DPO it also gives per-row sequence
 * log-probabilities, of the policy and of the reference (adapters off), and backpropagates weighted sums of them.
 *
 * <p>It mirrors the CPU engine's {@code CpuCausalLm} (same layer structure, same saved state, same recomputation
 * under gradient checkpointing), which stays the oracle, rather than running CpuCausalLm on a CUDA {@code Ops}
 * backend: the GPU path keeps bf16 activations where the CPU engine keeps F32, it fuses what the op set keeps apart
 * (the LM head with the loss and its gradient, RoPE of q and k in one launch, residual adds in place, LoRA gradients
 * summed straight into fp32 over micro-batches), its attention takes document offsets rather than per-token ids,
 * and its memory is carved out of one planned allocation. Expressing that through {@code Ops} would have bent both
 * the op set and the CPU engine away from their job of being clear and exact.
 *
 * <p>LoRA matrices are fp32 master weights with bf16 copies the GEMMs read (the kernels take bf16 operands);
 * products accumulate in fp32, gradients are written in fp32, and AdamW updates the masters.
 */
public final class GpuCausalLm implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final Context context;
    private final ModelConfig config;
    private final StepShape shape;
    private final Checkpointing mode;
    private final MemoryPlan plan;
    private final String report;
    private final DeviceBuffer memory;
    private final StepBuffers buffers;
    private final Kernels kernels;
    private final Stream stream;
    private final StepInputs inputs;
    private final LayerInputs layerInputs;
    private final PinnedBuffer hostResults, hostLogProbs;
    private final AdamWKernels.TensorTable optimizerTable;
    /** The attention heads of each layer: their windows may differ (Qwen2 slides from max_window_layers on). */
    private final FlashAttention.Heads[] heads;
    private final float scaling;
    private final float eps;
    private int optimizerSteps;
    // the micro-batch being run
    private StepInputs.Loaded batch;
    /** False while the reference forward of DPO runs: every projection skips its LoRA branch. */
    private boolean adaptersEnabled = true;
    /** The batch whose policy log-probabilities {@link #backward(double[])} may backpropagate; null if none. */
    private Batch pendingLogProbs;

    /** Loss of a window of micro-batches, the global norm of its gradient (before clipping), and its token count. */
    public record StepResult(float loss, float gradNorm, long labelledTokens) {}

    /**
     * The memory a step would need, without a GPU: for reports, and to choose a batch size before loading.
     *
     * @throws IllegalArgumentException if the GPU step does not support the model or adapters (see {@link #create})
     */
    public static MemoryPlan plan(ModelConfig config, BaseFormat format, LoraConfig lora, StepShape shape,
                                  Checkpointing mode) {
        requireSupported(config, lora);
        return new FitCheck.Request(config, format, lora, shape, mode).plan();
    }

    /**
     * Plans the step's memory, refuses it with what to change if it does not fit the free device memory, then
     * takes it in one allocation and uploads the weights. The adapters start as zero; {@link #loadAdapters}.
     *
     * @throws IllegalStateException if the plan does not fit (the message says how much is needed and what would fit)
     */
    public static GpuCausalLm create(Context context, ModelConfig config, ModelWeights weights, LoraConfig lora,
                                       StepShape shape, Checkpointing mode) {
        requireSupported(config, lora);
        FitCheck.Request request = new FitCheck.Request(config, BaseFormat.of(weights), lora, shape, mode);
        MemoryPlan plan = request.plan();
        long free = context.memoryInfo().free();
        FitCheck.require(request, plan, free);
        return new GpuCausalLm(context, request, plan, plan.line(free), weights);
    }

    /** The kernels' limits, checked before planning so that a model they cannot run fails with its reason. */
    private static void requireSupported(ModelConfig c, LoraConfig lora) {
        String model = c.architecture() + " (" + c.modelType() + ")";
        GpuLayerSupport.require(c, "the GPU step");
        if (c.headDim() != 64 && c.headDim() != 128) {
            throw new IllegalArgumentException(model + " has head_dim " + c.headDim()
                    + "; GPU attention supports 64 and 128");
        }
        requireMultipleOf8(model, "hidden_size", c.hiddenSize());
        requireMultipleOf8(model, "intermediate_size", c.intermediateSize());
        requireMultipleOf8(model, "vocab_size", c.vocabSize());
        if (lora.targets().isEmpty()) {
            throw new IllegalArgumentException("the LoRA config adapts no projection: nothing to train");
        }
        if (lora.rank() % 8 != 0) {
            throw new IllegalArgumentException("LoRA rank " + lora.rank() + " is not a multiple of 8, which the GPU"
                    + " GEMMs need (use 8, 16, 32, 64, ...)");
        }
    }

    private static void requireMultipleOf8(String model, String field, int value) {
        if (value % 8 != 0) {
            throw new IllegalArgumentException(model + " has " + field + " " + value
                    + ", not a multiple of 8 (the GPU kernels read rows as 16-byte vectors)");
        }
    }

    private GpuCausalLm(Context context, FitCheck.Request request, MemoryPlan plan, String report,
                          ModelWeights weights) {
        this.context = context;
        this.config = request.config();
        this.shape = request.shape();
        this.mode = request.mode();
        this.plan = plan;
        this.report = report;
        this.scaling = request.lora().scaling();
        this.eps = (float) config.rmsNormEps();
        this.heads = new FlashAttention.Heads[config.numLayers()];
        for (int l = 0; l < heads.length; l++) {
            heads[l] = new FlashAttention.Heads(config.numHeads(), config.numKvHeads(), config.headDim(),
                    config.windowOf(l), config.attentionScale());
        }
        this.memory = context.allocate(plan.totalBytes());
        try {
            MemoryCarver carver = MemoryCarver.carving(memory);
            this.buffers = new StepBuffers(carver, config, request.format(), request.lora(), shape, mode);
            this.kernels = Kernels.load(context);
            this.stream = context.createStream();
            buffers.weights.upload(weights);
            this.inputs = new StepInputs(context, config, buffers.inputLayout, buffers.inputs);
            this.layerInputs = new LayerInputs(context, buffers.residual, config.numLayers(),
                    2L * shape.maxTokens() * config.hiddenSize(), mode == Checkpointing.OFFLOADED);
            this.hostResults = context.allocatePinned(buffers.results.bytes());
            this.hostLogProbs = context.allocatePinned(buffers.sequenceLogProbs.bytes());
            this.optimizerTable = buffers.lora.optimizerTable(context);
            buffers.results.fillBytesAsync(0, stream);
            buffers.lora.zero(stream, kernels.elementwise());
            // Copies from pageable memory (weights, the optimizer table) may still be in flight on return, and the
            // step's stream does not wait for them: wait for the whole context once.
            context.synchronize();
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** The memory plan the step was built on. */
    public MemoryPlan memoryPlan() {
        return plan;
    }

    /** One line: what the step holds on the device, by use, and the device's free memory before it. */
    public String memoryReport() {
        return report;
    }

    /** Copies the matrices of {@code adapters} to the device and starts a fresh optimizer (zero moments, step 0). */
    public void loadAdapters(LoraAdapters adapters) {
        buffers.lora.upload(adapters, stream, kernels.elementwise());
        optimizerSteps = 0;
    }

    /** Copies the trained fp32 matrices into {@code adapters} (to save them, or to compare). */
    public void storeAdapters(LoraAdapters adapters) {
        buffers.lora.downloadMatrices(adapters, stream);
    }

    /** Copies the gradients of the last {@link #accumulate} or {@link #trainStep} into {@code adapters}. */
    public void storeGradients(LoraAdapters adapters) {
        buffers.lora.downloadGradients(adapters, stream);
    }

    /**
     * Copies the AdamW state into host tensors, to save it: the fp32 first and second moments of every LoRA matrix,
     * one tensor each in the order of {@link LoraAdapters#names()} (as the CPU optimizer keeps them), and returns
     * the update count that the bias correction uses. Waits for the device; stages through host memory taken for
     * the call.
     *
     * @throws IllegalArgumentException if the tensors do not match the matrices in number, type or size
     */
    public int storeOptimizerState(List<Tensor> firstMoments, List<Tensor> secondMoments) {
        buffers.lora.downloadMoments(firstMoments, secondMoments, stream);
        return optimizerSteps;
    }

    /**
     * Restores the AdamW state {@link #storeOptimizerState} gave, after {@link #loadAdapters} (which starts a fresh
     * optimizer): the next update is number {@code steps + 1}, bias-corrected as the run it continues would be.
     *
     * @throws IllegalArgumentException if the tensors do not match the matrices, or {@code steps} is negative
     */
    public void loadOptimizerState(List<Tensor> firstMoments, List<Tensor> secondMoments, int steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("optimizer step count must be >= 0, got " + steps);
        }
        buffers.lora.uploadMoments(firstMoments, secondMoments, stream);
        optimizerSteps = steps;
    }

    /** Optimizer updates done since the adapters were loaded, or since the count {@link #loadOptimizerState} set. */
    public int optimizerSteps() {
        return optimizerSteps;
    }

    /**
     * Forward and backward over every micro-batch of one optimizer step, leaving in the LoRA gradients the gradient
     * of the mean loss over all labelled tokens of the window (each micro-batch weighted by its share of them, as
     * one batch holding all their rows would give), and computing its global norm and the clipping scale for
     * {@code maxGradNorm} (0 for none). Waits for the device once, at the end, to read the loss.
     */
    public StepResult accumulate(List<Batch> microBatches, float maxGradNorm) {
        if (microBatches.isEmpty() || microBatches.size() > shape.microBatches()) {
            throw new IllegalArgumentException(microBatches.size() + " micro-batches in one step; the GPU step was"
                    + " planned for 1 to " + shape.microBatches());
        }
        int[] labelled = new int[microBatches.size()];
        long total = 0;
        for (int i = 0; i < labelled.length; i++) {
            labelled[i] = StepInputs.labelledTokens(microBatches.get(i), config.vocabSize());
            total += labelled[i];
        }
        pendingLogProbs = null;
        buffers.results.fillBytesAsync(0, stream);
        buffers.lora.zeroGradients(stream);
        for (int i = 0; i < labelled.length; i++) {
            // A micro-batch without labels adds nothing to the loss or the gradient.
            if (labelled[i] > 0) {
                batch = inputs.load(microBatches.get(i), stream);
                forwardBackward(Math.toIntExact(total), buffers.lossSlot(i));
            }
        }
        kernels.adamw().gradNorm(stream, optimizerTable, buffers.gradNorm(), maxGradNorm);
        buffers.results.copyToHostAsync(hostResults.segment(), stream);
        stream.synchronize();
        var results = hostResults.segment();
        requireNoEmbeddingError(results);
        double loss = 0;
        for (int i = 0; i < labelled.length; i++) {
            loss += results.get(F32, StepBuffers.lossOffset(i));
        }
        return new StepResult((float) loss, results.get(F32, 0), total);
    }

    private void requireNoEmbeddingError(MemorySegment results) {
        if (results.get(I32, 8) != 0) {
            throw new IllegalStateException("embedding gather met token id " + results.get(I32, 12)
                    + " outside the vocabulary [0, " + config.vocabSize() + ")");
        }
    }

    /** Sets the LoRA gradients to zero, to start a window of DPO micro-batches ({@link #backward(double[])}). */
    public void zeroGradients() {
        buffers.lora.zeroGradients(stream);
    }

    /**
     * Per batch row, the sum over its labelled tokens of {@code log p(label)} with the adapters on (HF shift; a
     * row without labels gives 0), as {@code CpuCausalLm.forwardSequenceLogProbs} computes it; keeps what
     * {@link #backward(double[])} needs. Waits for the device to read the sums.
     */
    public double[] forwardSequenceLogProbs(Batch b) {
        double[] logProbs = sequenceLogProbs(b, true);
        pendingLogProbs = b;
        return logProbs;
    }

    /**
     * {@link #forwardSequenceLogProbs} of the base model alone (every LoRA branch skipped): DPO's reference. No
     * backward can follow it, so it keeps no layer inputs for one; it ends any pending policy forward.
     */
    public double[] referenceLogProbs(Batch b) {
        adaptersEnabled = false;
        try {
            return sequenceLogProbs(b, false);
        } finally {
            adaptersEnabled = true;
        }
    }

    private double[] sequenceLogProbs(Batch b, boolean forBackward) {
        pendingLogProbs = null;
        buffers.embeddingErrorFlag().fillBytesAsync(0, stream);
        batch = inputs.load(b, stream);
        forwardLayers(forBackward);
        int n = batch.tokens(), d = config.hiddenSize();
        kernels.rmsNorm().forward(stream, buffers.normed, buffers.invRmsFinal, layerInputs.lastOutput(),
                buffers.weights.norm, n, d, eps);
        DeviceBuffer sums = buffers.sequenceLogProbs.slice(0, 4L * b.batchSize());
        kernels.crossEntropy().sequenceLogProbs(stream, lmHead(), b.seqLen(), sums);
        sums.copyToHostAsync(hostLogProbs.segment().asSlice(0, sums.bytes()), stream);
        buffers.results.copyToHostAsync(hostResults.segment(), stream);
        stream.synchronize();
        requireNoEmbeddingError(hostResults.segment());
        double[] logProbs = new double[b.batchSize()];
        for (int r = 0; r < logProbs.length; r++) {
            logProbs[r] = hostLogProbs.segment().getAtIndex(F32, r);
        }
        return logProbs;
    }

    /**
     * Backpropagates {@code sum_b rowCoefficients[b] · logProbs[b]} of the last {@link #forwardSequenceLogProbs},
     * adding the LoRA gradients to those already accumulated (see {@link #zeroGradients}). Queued, not waited for.
     *
     * @throws IllegalStateException if no policy forward is pending (none yet, or another call came between)
     */
    public void backward(double[] rowCoefficients) {
        Batch b = pendingLogProbs;
        if (b == null) {
            throw new IllegalStateException("backward(rowCoefficients) needs forwardSequenceLogProbs() just before it");
        }
        if (rowCoefficients.length != b.batchSize()) {
            throw new IllegalArgumentException(rowCoefficients.length + " row coefficients for a batch of "
                    + b.batchSize() + " rows");
        }
        pendingLogProbs = null;
        float[] weights = new float[rowCoefficients.length];
        for (int r = 0; r < weights.length; r++) {
            // the row losses are -log p
            weights[r] = (float) -rowCoefficients[r];
        }
        // The final norm's output and 1/rms are still those of the policy forward.
        kernels.crossEntropy().backwardWeighted(stream, lmHead(), b.seqLen(), weights, buffers.dResid);
        backwardLayers();
    }

    /**
     * The global norm of the accumulated LoRA gradients, and the clipping scale for {@code maxGradNorm} (0 for
     * none) that {@link #update} applies. Waits for the device.
     */
    public float gradientNorm(float maxGradNorm) {
        pendingLogProbs = null;
        kernels.adamw().gradNorm(stream, optimizerTable, buffers.gradNorm(), maxGradNorm);
        buffers.results.copyToHostAsync(hostResults.segment(), stream);
        stream.synchronize();
        return hostResults.segment().get(F32, 0);
    }

    /**
     * {@link #accumulate}, then one AdamW update of every adapter with the clipped gradients, and the bf16 copies
     * refreshed. The update is queued, not waited for.
     *
     * @param hyper AdamW settings with this step's learning rate
     * @throws ArithmeticException if the gradient norm is NaN or infinite (the adapters are then left unchanged)
     */
    public StepResult trainStep(List<Batch> microBatches, AdamWKernels.Hyper hyper, float maxGradNorm) {
        StepResult result = accumulate(microBatches, maxGradNorm);
        update(hyper, result.gradNorm());
        return result;
    }

    /**
     * One AdamW update of every adapter with the gradients clipped by the scale that the last {@link #accumulate}
     * or {@link #gradientNorm} computed along with {@code gradNorm}, and the bf16 copies refreshed. Queued.
     *
     * @throws ArithmeticException if the gradient norm is NaN or infinite (the adapters are then left unchanged)
     */
    public void update(AdamWKernels.Hyper hyper, float gradNorm) {
        if (!Float.isFinite(gradNorm)) {
            throw new ArithmeticException("the gradient norm is " + gradNorm + " at optimizer step "
                    + (optimizerSteps + 1) + ": the loss or a gradient overflowed; the adapters were not updated");
        }
        pendingLogProbs = null;
        optimizerSteps++;
        kernels.adamw().step(stream, optimizerTable, AdamWKernels.clipScaleAddress(buffers.gradNorm()),
                hyper, optimizerSteps);
        buffers.lora.roundCopies(stream, kernels.elementwise());
    }

    /** Forward to the loss and backward to the LoRA gradients of the loaded micro-batch. */
    private void forwardBackward(int countedTokens, DeviceBuffer lossSlot) {
        int n = batch.tokens(), d = config.hiddenSize();
        forwardLayers(true);
        // Final norm, then the LM head, loss and dLoss/dHidden chunk by chunk into dResid.
        kernels.rmsNorm().forward(stream, buffers.normed, buffers.invRmsFinal, layerInputs.lastOutput(),
                buffers.weights.norm, n, d, eps);
        kernels.crossEntropy().run(stream, lmHead(), countedTokens, lossSlot, buffers.dResid);
        backwardLayers();
    }

    /** The LM head's operands for the loaded micro-batch: the final norm's output, the head, the targets. */
    private FusedCrossEntropy.Operands lmHead() {
        return new FusedCrossEntropy.Operands(buffers.normed, buffers.weights.lmHead, batch.targets(), batch.tokens(),
                config.hiddenSize(), config.vocabSize(), buffers.logits, buffers.rowLoss);
    }

    /** Embedding and decoder layers of the loaded micro-batch; layer inputs are kept only for a backward. */
    private void forwardLayers(boolean forBackward) {
        int n = batch.tokens(), d = config.hiddenSize();
        layerInputs.begin(2L * n * d);
        if (!forBackward) {
            layerInputs.beforeForwardWithoutBackward(stream);
        }
        kernels.embedding().gather(stream, layerInputs.input(0), buffers.weights.embedTokens, batch.tokenIds(),
                buffers.embeddingErrorFlag(), n, config.vocabSize(), d);
        for (int l = 0; l < config.numLayers(); l++) {
            if (forBackward) {
                layerInputs.beforeForward(l, stream);
            }
            layerForward(l, buffers.state(l), layerInputs.input(l), layerInputs.input(l + 1), false);
        }
    }

    /**
     * From dResid = dLoss/d(final norm output) to the LoRA gradients: the final norm's backward turns it, in place,
     * into the gradient of the last layer's output, then every layer backward.
     */
    private void backwardLayers() {
        int n = batch.tokens(), d = config.hiddenSize();
        kernels.rmsNorm().backward(stream, buffers.dResid, buffers.dResid, layerInputs.lastOutput(),
                buffers.weights.norm, buffers.invRmsFinal, n, d);
        for (int l = config.numLayers() - 1; l >= 0; l--) {
            layerInputs.beforeBackward(l, stream);
            DeviceBuffer x = layerInputs.input(l);
            if (mode != Checkpointing.OFF) {
                layerForward(l, buffers.state(l), x, null, true);
            }
            layerBackward(l, buffers.state(l), x);
        }
    }

    /**
     * One decoder layer from input x to output out, keeping its state in st. Recomputing (out null) stops once
     * the state is complete: the down projection's base product and the last residual add are skipped, only its
     * LoRA x·Aᵀ is needed.
     */
    private void layerForward(int l, LayerActivations st, DeviceBuffer x, DeviceBuffer out, boolean recompute) {
        DeviceWeights.Layer w = buffers.weights.layers.get(l);
        int n = batch.tokens(), d = config.hiddenSize();
        long inter = (long) n * config.intermediateSize();
        kernels.rmsNorm().forward(stream, buffers.normed, st.invRms1, x, w.inputNorm(), n, d, eps);
        boolean qkNorm = w.qNorm() != null;
        project(l, LoraTarget.Q, buffers.normed, qkNorm ? st.qProjected : st.q, st);
        project(l, LoraTarget.K, buffers.normed, qkNorm ? st.kProjected : st.k, st);
        project(l, LoraTarget.V, buffers.normed, st.v, st);
        if (qkNorm) {
            int hd = config.headDim();
            kernels.rmsNorm().forwardHeads(stream, st.q, st.invRmsQ, st.qProjected, w.qNorm(), n, config.numHeads(),
                    hd, config.qWidth(), eps);
            kernels.rmsNorm().forwardHeads(stream, st.k, st.invRmsK, st.kProjected, w.kNorm(), n,
                    config.numKvHeads(), hd, config.kvWidth(), eps);
        }
        kernels.rope().forward(stream, st.q, st.k, batch.positions(), batch.invFreq(), n, config.numHeads(),
                config.numKvHeads(), config.headDim());
        kernels.attention().forward(stream, heads[l], batch.documents(), batch.cuSeqlens(), st.q, st.k, st.v,
                st.attn, st.lse);
        project(l, LoraTarget.O, st.attn, st.h, st);
        kernels.elementwise().residualAdd(stream, st.h, x, (long) n * d);

        kernels.rmsNorm().forward(stream, buffers.normed, st.invRms2, st.h, w.mlpNorm(), n, d, eps);
        project(l, LoraTarget.GATE, buffers.normed, st.gate, st);
        project(l, LoraTarget.UP, buffers.normed, st.up, st);
        kernels.swiglu().forward(stream, buffers.act, st.gate, st.up, inter);
        if (recompute) {
            loraDown(l, LoraTarget.DOWN, buffers.act, st.xa(LoraTarget.DOWN));
            return;
        }
        project(l, LoraTarget.DOWN, buffers.act, out, st);
        kernels.elementwise().residualAdd(stream, out, st.h, (long) n * d);
    }

    /** On entry dResid = dLoss/d(layer output); on exit dLoss/d(layer input). */
    private void layerBackward(int l, LayerActivations st, DeviceBuffer x) {
        DeviceWeights.Layer w = buffers.weights.layers.get(l);
        int n = batch.tokens(), d = config.hiddenSize();
        long inter = (long) n * config.intermediateSize();
        DeviceBuffer dx = buffers.dResid, dn = buffers.dNormed, normed = buffers.normed;

        // MLP: out = h + down(silu(gate(n2)) * up(n2)), n2 = norm(h)
        kernels.swiglu().forward(stream, buffers.act, st.gate, st.up, inter);
        projectBackward(l, LoraTarget.DOWN, buffers.act, st, dx, buffers.dAct, false);
        kernels.swiglu().backward(stream, st.gate, st.up, buffers.dAct, inter); // gate, up now hold gradients
        kernels.rmsNorm().forward(stream, normed, buffers.invRmsScratch, st.h, w.mlpNorm(), n, d, eps);
        projectBackward(l, LoraTarget.GATE, normed, st, st.gate, dn, false);
        projectBackward(l, LoraTarget.UP, normed, st, st.up, dn, true);
        kernels.rmsNorm().backward(stream, dn, dn, st.h, w.mlpNorm(), st.invRms2, n, d);
        kernels.elementwise().residualAdd(stream, dx, dn, (long) n * d); // dx = dLoss/dh

        // attention: h = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))), n1 = norm(x)
        projectBackward(l, LoraTarget.O, st.attn, st, dx, buffers.dAttn, false);
        kernels.attention().backward(stream, heads[l], batch.documents(), batch.cuSeqlens(), st.q, st.k, st.v,
                st.attn, st.lse, buffers.dAttn, buffers.attentionWorkspace, buffers.dQ, buffers.dK, buffers.dV);
        kernels.rope().backward(stream, buffers.dQ, buffers.dK, batch.positions(), batch.invFreq(), n,
                config.numHeads(), config.numKvHeads(), config.headDim());
        if (w.qNorm() != null) {
            // through the per-head norms, in place: dQ, dK become the gradients of q and k as projected
            int hd = config.headDim();
            kernels.rmsNorm().backward(stream, buffers.dQ, buffers.dQ, st.qProjected, w.qNorm(), st.invRmsQ,
                    n * config.numHeads(), hd);
            kernels.rmsNorm().backward(stream, buffers.dK, buffers.dK, st.kProjected, w.kNorm(), st.invRmsK,
                    n * config.numKvHeads(), hd);
        }
        kernels.rmsNorm().forward(stream, normed, buffers.invRmsScratch, x, w.inputNorm(), n, d, eps);
        projectBackward(l, LoraTarget.Q, normed, st, buffers.dQ, dn, false);
        projectBackward(l, LoraTarget.K, normed, st, buffers.dK, dn, true);
        projectBackward(l, LoraTarget.V, normed, st, buffers.dV, dn, true);
        kernels.rmsNorm().backward(stream, dn, dn, x, w.inputNorm(), st.invRms1, n, d);
        kernels.elementwise().residualAdd(stream, dx, dn, (long) n * d); // dx = dLoss/dx
    }

    /**
     * y = x·Wᵀ (+ the projection's bias, where the family has one), plus s·(x·Aᵀ)·Bᵀ if {@code t} is adapted (x·Aᵀ
     * kept in the state for backward). The bias is added to the base product before the LoRA term, in the order
     * PEFT computes {@code base_layer(x) + lora_B(lora_A(x)) * s}; it is frozen, so the backward never sees it.
     */
    private void project(int l, LoraTarget t, DeviceBuffer x, DeviceBuffer y, LayerActivations st) {
        int n = batch.tokens(), out = t.outFeatures(config), in = t.inFeatures(config);
        DeviceWeights.Layer layer = buffers.weights.layers.get(l);
        DeviceBuffer w = layer.projection(t).dense(stream, kernels.nf4(), buffers.dequantScratch);
        GemmKernels gemm = kernels.gemm();
        gemm.forward(stream, y, GemmKernels.Store.BF16, x, w, n, out, in, 1f);
        DeviceBuffer bias = layer.bias(t);
        if (bias != null) {
            kernels.elementwise().biasAdd(stream, y, bias, n, out);
        }
        DeviceLora.Adapter ad = adaptersEnabled ? buffers.lora.adapter(l, t) : null;
        if (ad != null) {
            DeviceBuffer xa = st.xa(t);
            loraDown(l, t, x, xa);
            gemm.forward(stream, y, GemmKernels.Store.BF16_ADD, xa, ad.bBf16(), n, out, buffers.lora.config.rank(),
                    scaling);
        }
    }

    /** xa = x·Aᵀ of the adapter of {@code t}, if adapted. */
    private void loraDown(int l, LoraTarget t, DeviceBuffer x, DeviceBuffer xa) {
        DeviceLora.Adapter ad = buffers.lora.adapter(l, t);
        if (ad != null) {
            kernels.gemm().forward(stream, xa, GemmKernels.Store.BF16, x, ad.aBf16(), batch.tokens(),
                    buffers.lora.config.rank(), t.inFeatures(config), 1f);
        }
    }

    /**
     * dX (+)= dY·W, and if adapted: g = s·dY·B, dA += gᵀ·x, dB += s·dYᵀ·(x·Aᵀ) (fp32, summed over micro-batches),
     * dX += g·A.
     */
    private void projectBackward(int l, LoraTarget t, DeviceBuffer x, LayerActivations st, DeviceBuffer dY,
                                 DeviceBuffer dX, boolean accumulate) {
        int n = batch.tokens(), out = t.outFeatures(config), in = t.inFeatures(config);
        int r = buffers.lora.config.rank();
        DeviceBuffer w = buffers.weights.layers.get(l).projection(t).dense(stream, kernels.nf4(),
                buffers.dequantScratch);
        GemmKernels gemm = kernels.gemm();
        gemm.backwardInput(stream, dX, accumulate ? GemmKernels.Store.BF16_ADD : GemmKernels.Store.BF16, dY, w, n, out, in, 1f);
        DeviceLora.Adapter ad = buffers.lora.adapter(l, t);
        if (ad != null) {
            DeviceBuffer g = buffers.dXa;
            gemm.backwardInput(stream, g, GemmKernels.Store.BF16, dY, ad.bBf16(), n, out, r, scaling);
            gemm.weightGradient(stream, ad.gradA(), GemmKernels.Store.F32_ADD, g, x, n, r, in, 1f);
            gemm.weightGradient(stream, ad.gradB(), GemmKernels.Store.F32_ADD, dY, st.xa(t), n, out, r, scaling);
            gemm.backwardInput(stream, dX, GemmKernels.Store.BF16_ADD, g, ad.aBf16(), n, r, in, 1f);
        }
    }

    /** Waits for the device, then frees everything the step holds (the weights given to {@link #create} stay). */
    @Override
    public void close() {
        stream.synchronize();
        layerInputs.close();
        inputs.close();
        optimizerTable.close();
        hostResults.close();
        hostLogProbs.close();
        stream.close();
        memory.close();
    }
}
