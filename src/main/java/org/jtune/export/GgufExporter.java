package org.jtune.export;

import org.jtune.io.GgmlType;
import org.jtune.io.GgufMetadata;
import org.jtune.io.GgufTensorInfo;
import org.jtune.io.GgufWriter;
import org.jtune.model.ModelWeights;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraTarget;
import org.jtune.model.ModelConfig;
import org.jtune.model.WeightSource;
import org.jtune.model.RopeScaling;
import org.jtune.quant.gguf.RowEncoder;
import org.jtune.tensor.Tensor;
import org.jtune.tokenizer.LlamaCppVocabulary;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Writes a model (Llama, Mistral, Qwen2, Qwen3, Gemma 3), with its LoRA adapter merged in, as one GGUF file for
 * llama.cpp and Ollama in the llama.cpp architecture of its family ({@link GgufArchitecture}): the tensors laid out
 * by {@link LlamaTensorPlan}, typed by {@link TensorTypeRules}, encoded by the ggml block encoders, with
 * {@link GgufModelMetadata}. Tensors are merged, converted and written a slice of rows at a time (rows encoded
 * in parallel), so the heap holds a few megabytes whatever the model's size.
 */
public final class GgufExporter {
    /** Values converted per slice of rows: bounds the heap used per tensor. */
    private static final long SLICE_VALUES = 1 << 21;

    private final ModelConfig config;
    private final WeightSource weights;
    private final LoraAdapters lora;
    private final LlamaCppVocabulary vocab;
    private final GgufFileType fileType;

    /**
     * @param lora the adapter to merge, or null to export the base model
     * @throws IllegalArgumentException for a model llama.cpp's architecture for it cannot represent, with the
     *                                  reason (checked here, before anything is written)
     */
    public GgufExporter(ModelConfig config, WeightSource weights, LoraAdapters lora, LlamaCppVocabulary vocab,
                        GgufFileType fileType) {
        this.config = config;
        this.weights = weights;
        this.lora = lora;
        this.vocab = vocab;
        this.fileType = fileType;
        refuseUnrepresentable();
    }

    private void refuseUnrepresentable() {
        GgufArchitecture arch = GgufArchitecture.of(config);
        String llamaCpp = "llama.cpp's " + arch.ggufName() + " architecture";
        if (config.ropeScaling().type() == RopeScaling.Type.DYNAMIC) {
            throw new IllegalArgumentException(weights.description() + ": dynamic (NTK) RoPE scaling has no "
                    + "counterpart in " + llamaCpp);
        }
        if (config.ropeScaling().type() == RopeScaling.Type.LLAMA3 && arch != GgufArchitecture.LLAMA) {
            throw new IllegalArgumentException(weights.description() + ": Llama 3 RoPE scaling (rope_freqs) has no "
                    + "counterpart in " + llamaCpp);
        }
        if (config.attentionBias() || config.mlpBias()) {
            throw new IllegalArgumentException(weights.description() + ": projection biases (attention_bias / "
                    + "mlp_bias) are not exported to GGUF here");
        }
        switch (arch) {
            case LLAMA -> { }
            case QWEN2, QWEN3 -> {
                if (arch == GgufArchitecture.QWEN2 && config.qWidth() != config.hiddenSize()) {
                    throw new IllegalArgumentException(weights.description() + ": head_dim " + config.headDim()
                            + " x " + config.numHeads() + " heads is not hidden_size " + config.hiddenSize() + "; "
                            + llamaCpp + " takes query and output projections of hidden_size x hidden_size");
                }
                refuseSlidingLayers(llamaCpp);
            }
            case GEMMA3 -> {
                try {
                    GemmaLayerPattern.period(config);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(weights.description() + ": " + e.getMessage(), e);
                }
                refuseOtherAttentionScale(llamaCpp);
            }
        }
        if (vocab.size() != config.vocabSize()) {
            throw new IllegalArgumentException("the vocabulary has " + vocab.size() + " tokens but the model "
                    + config.vocabSize() + " embedding rows");
        }
        ModelWeights.load(config, weights); // names, shapes and dtypes, with the tensor named on error
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (LoraTarget t : LoraTarget.values()) {
                String module = ModelWeights.layerPrefix(layer) + t.modulePath();
                if (weights.quantized(module) != null) {
                    throw new IllegalArgumentException(weights.location(module + ".weight") + " stores " + module
                            + " in 4-bit: GGUF export needs the 16-bit base model (export from the model the 4-bit "
                            + "checkpoint was made from)");
                }
            }
        }
    }

    /** Qwen's use_sliding_window: llama.cpp's qwen2 and qwen3 have no sliding window, so the model would change. */
    private void refuseSlidingLayers(String llamaCpp) {
        for (int layer = 0; layer < config.numLayers(); layer++) {
            int window = config.windowOf(layer);
            if (window > 0 && window < config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException(weights.description() + ": use_sliding_window makes layer " + layer
                        + " (and the others from max_window_layers on) attend within " + window + " tokens; "
                        + llamaCpp + " has no sliding window and would attend over the whole context");
            }
        }
    }

    /**
     * Gemma 3 scales attention scores by {@code 1/sqrt(query_pre_attn_scalar)}; llama.cpp's gemma3 does not read it
     * and takes {@code head_dim}, or {@code hidden_size / heads} for the 62-layer (27B) model, which is what the
     * published models set.
     */
    private void refuseOtherAttentionScale(String llamaCpp) {
        boolean is27B = config.numLayers() == 62;
        int scalar = is27B ? config.hiddenSize() / config.numHeads() : config.headDim();
        double given = config.design().queryPreAttnScalar();
        if (given > 0 && given != scalar) {
            throw new IllegalArgumentException(weights.description() + ": query_pre_attn_scalar is " + given + ", but "
                    + llamaCpp + " scales attention scores by 1/sqrt(" + scalar + ") ("
                    + (is27B ? "hidden_size / num_attention_heads for 62 layers" : "head_dim") + ")");
        }
    }

    /**
     * What the user should know about how llama.cpp will run this model, where it differs from the model as
     * trained: empty when it runs it as is.
     */
    public List<String> notes() {
        List<String> notes = new ArrayList<>(vocab.notes());
        // Gemma 3's window is written and applied per layer; Qwen's sliding layers are refused
        if (GgufArchitecture.of(config) == GgufArchitecture.LLAMA && config.slidingWindow() > 0
                && config.slidingWindow() < config.maxPositionEmbeddings()) {
            notes.add("sliding_window " + config.slidingWindow() + " is written, but llama.cpp's llama architecture "
                    + "attends over the whole context: past " + config.slidingWindow() + " tokens its outputs differ "
                    + "from the model's");
        }
        return notes;
    }

    /** One tensor of the file: its entry in the plan and the type it is written in. */
    public record Planned(LlamaTensorPlan.Entry entry, GgufTensorInfo info) {
    }

    /** Every tensor with its type, in file order (what {@link #write} writes). */
    public List<Planned> plan() {
        boolean ropeFreqs = config.ropeScaling().type() == RopeScaling.Type.LLAMA3;
        TensorTypeRules rules = new TensorTypeRules(fileType, config.numLayers(),
                GgufArchitecture.of(config).seventyB(config));
        List<Planned> out = new ArrayList<>();
        for (LlamaTensorPlan.Entry e : LlamaTensorPlan.of(config, ropeFreqs)) {
            GgmlType type = rules.typeOf(e.name(), e.role(), e.columns(), e.layer());
            GgufTensorInfo info = e.vector() ? GgufTensorInfo.vector(e.name(), type, e.columns())
                    : GgufTensorInfo.matrix(e.name(), type, e.rows(), e.columns());
            out.add(new Planned(e, info));
        }
        return out;
    }

    /** Writes the file (under a temporary name, renamed into place when complete). */
    public void write(Path output, String name, GgufWriter.Progress progress) throws IOException {
        GgufMetadata metadata = GgufModelMetadata.of(config, vocab, fileType, name);
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (Planned p : plan()) {
            tensors.add(new GgufWriter.Tensor(p.info(), sink -> writeTensor(p, sink)));
        }
        GgufWriter.write(output, metadata, tensors, progress);
    }

    private void writeTensor(Planned p, GgufWriter.TensorSink sink) throws IOException {
        LlamaTensorPlan.Entry e = p.entry();
        RowEncoder encoder = RowEncoder.forType(p.info().type());
        if (e.vector()) {
            float[] values = e.source() == null ? Llama3RopeFactors.of(config) : weights.tensor(e.source()).toFloatArray();
            for (int i = 0; i < values.length; i++) {
                values[i] += e.offset();
            }
            byte[] bytes = new byte[Math.toIntExact(p.info().byteSize())];
            encoder.encode(values, 0, values.length, bytes, 0);
            sink.write(bytes, 0, bytes.length);
            return;
        }
        Tensor w = weights.tensor(e.source());
        LoraAdapters.Adapter adapter = lora != null && e.lora() != null && lora.config().targets().contains(e.lora())
                ? lora.adapter(e.layer(), e.lora()) : null;
        MergedRows rows = new MergedRows(e.name(), w, adapter, lora == null ? 0f : lora.config().scaling(),
                e.permuteHeads());
        int columns = rows.columns();
        int rowBytes = Math.toIntExact(p.info().type().rowBytes(columns));
        int sliceRows = (int) Math.max(1, Math.min(rows.rows(), SLICE_VALUES / columns));
        byte[] slice = new byte[sliceRows * rowBytes];
        ThreadLocal<float[]> buffer = ThreadLocal.withInitial(() -> new float[columns]);
        for (long first = 0; first < rows.rows(); first += sliceRows) {
            long start = first;
            int count = (int) Math.min(sliceRows, rows.rows() - first);
            IntStream.range(0, count).parallel().forEach(i -> {
                float[] row = buffer.get();
                rows.row(start + i, row);
                encoder.encode(row, 0, columns, slice, i * rowBytes);
            });
            sink.write(slice, 0, count * rowBytes);
        }
    }
}
