package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * Mean cross-entropy of the LM head's logits and the gradient of the final hidden states, with the logits
 * computed a chunk of tokens at a time so that only chunk x vocab of them ever exists (cross_entropy.ptx); for DPO,
 * the same chunks give per-sequence sums of log p and the gradient of a weighted sum of them.
 * <p>Targets are already shifted, one per hidden row: {@code targets[t]} is the token that position t predicts
 * (HF's {@code labels[t + 1]}; the caller shifts, and marks the last position of each document and every
 * unsupervised position with -100, which is ignored).
 */
public final class FusedCrossEntropy {
    /** The label value that marks a position without a target (as in HF). */
    public static final int IGNORE_INDEX = -100;
    private static final int THREADS = 512;
    private static final int MEAN_THREADS = 1024;
    /** Chunks of at least this many rows are cut to a multiple of it, a size GEMM tiles divide. */
    private static final int ROW_QUANTUM = 128;

    /**
     * The GEMMs of the LM head (bf16 operands and results, float32 accumulation): {@link GemmLogits} in production;
     * tests substitute others to see the chunks. The operands are the chunk's rows, cut from the caller's buffers.
     */
    public interface LogitsGemm {
        /** Queues {@code logits[rows×vocab] = hidden[rows×dim] · weight[vocab×dim]ᵀ}. */
        void logits(Stream stream, DeviceBuffer hidden, DeviceBuffer weight, DeviceBuffer logits, int rows, int vocab,
                    int dim);

        /** Queues {@code dHidden[rows×dim] = dLogits[rows×vocab] · weight[vocab×dim]}. */
        void hiddenGradient(Stream stream, DeviceBuffer dLogits, DeviceBuffer weight, DeviceBuffer dHidden, int rows,
                            int vocab, int dim);
    }

    /**
     * What every launch reads and the workspace it uses: hidden bf16 [tokens, dim] (the final norm's output), the
     * LM head weight bf16 [vocab, dim] (frozen, no gradient), targets int32 [tokens] (shifted, -100 ignored), the
     * logits workspace ({@link #logitsBytes} for the chunk size wanted: its size sets the chunk) and rowLoss
     * float32 [tokens] (0 for ignored rows, NaN for a target outside the vocabulary).
     */
    public record Operands(DeviceBuffer hidden, DeviceBuffer weight, DeviceBuffer targets, int tokens, int dim,
                           int vocab, DeviceBuffer logits, DeviceBuffer rowLoss) {
        public Operands {
            requireShapes(hidden, weight, targets, tokens, dim, vocab, logits, rowLoss);
        }

        /** Rows of logits the workspace holds at once. */
        int chunk() {
            return (int) Math.min(tokens, logits.bytes() / (2L * vocab));
        }
    }

    private final Kernel crossEntropy;
    private final Kernel mean;
    private final LogitsGemm gemm;

    /** Loads the kernels into {@code context}; the logits and dH products go through {@code gemm}. */
    public FusedCrossEntropy(Context context, LogitsGemm gemm) {
        var module = context.module("cross_entropy");
        this.crossEntropy = module.kernel("cross_entropy_bf16");
        this.mean = module.kernel("cross_entropy_mean");
        this.gemm = gemm;
    }

    /**
     * Rows per chunk for a logits workspace of at most {@code budgetBytes}: as many as fit, cut to a multiple of
     * 128 when at least 128 fit, never more than {@code tokens}.
     */
    public static int chunkRows(long budgetBytes, int vocab, int tokens) {
        long fit = budgetBytes / (2L * vocab);
        if (fit < 1) {
            throw new IllegalArgumentException("a logits budget of " + budgetBytes + " bytes holds no row of "
                    + vocab + " bf16 logits (" + 2L * vocab + " bytes)");
        }
        if (fit >= ROW_QUANTUM) {
            fit = fit / ROW_QUANTUM * ROW_QUANTUM;
        }
        return (int) Math.min(fit, tokens);
    }

    /** Bytes of the logits workspace for chunks of {@code chunkRows} rows. */
    public static long logitsBytes(int chunkRows, int vocab) {
        return 2L * chunkRows * vocab;
    }

    /**
     * Queues the loss and its gradient: for each chunk of rows, logits = hidden·Wᵀ into the workspace, the
     * per-row loss and in place the logit gradient (softmax - onehot) / countedTokens, then
     * dHidden = dLogits·W; finally {@code loss[0]} = sum of row losses / countedTokens.
     * <p>dHidden bf16 [tokens, dim]; loss float32 [1]. {@code countedTokens} is the number of tokens the loss is
     * averaged over (normally those with a target, known when the batch is built; over a whole
     * gradient-accumulation step if the caller wants that).
     */
    public void run(Stream stream, Operands op, int countedTokens, DeviceBuffer loss, DeviceBuffer dHidden) {
        if (countedTokens <= 0) {
            throw new IllegalArgumentException("the loss is averaged over " + countedTokens
                    + " tokens; at least one is needed");
        }
        DeviceBuffer hidden = op.hidden(), weight = op.weight(), targets = op.targets(), logits = op.logits(),
                rowLoss = op.rowLoss();
        int tokens = op.tokens(), dim = op.dim(), vocab = op.vocab();
        FlashAttention.requireBuffer("loss", loss, 4);
        FlashAttention.requireBuffer("hidden-state gradient", dHidden, 2L * tokens * dim);
        int chunk = op.chunk();
        float invCount = 1f / countedTokens;
        for (int first = 0; first < tokens; first += chunk) {
            int rows = Math.min(chunk, tokens - first);
            DeviceBuffer chunkLogits = chunkLogits(logits, rows, vocab);
            gemm.logits(stream, rows(hidden, first, rows, dim), weight, chunkLogits, rows, vocab, dim);
            crossEntropy.launch(stream, LaunchShape.of(rows, THREADS), logits, targets.address() + 4L * first,
                    rowLoss.address() + 4L * first, vocab, invCount);
            gemm.hiddenGradient(stream, chunkLogits, weight, rows(dHidden, first, rows, dim), rows, vocab, dim);
        }
        mean.launch(stream, LaunchShape.of(1, MEAN_THREADS), rowLoss, loss, tokens, invCount);
    }

    /**
     * Queues the summed log-probability of the targets of each sequence, for DPO: the chunked logits and row
     * losses as in {@link #run} (the gradient the kernel leaves in the workspace is not used: no dHidden product),
     * then {@code logProbs[s]} = -(sum of the row losses of rows {@code s·seqLen} to {@code (s+1)·seqLen - 1}).
     * <p>logProbs float32 [tokens / seqLen].
     */
    public void sequenceLogProbs(Stream stream, Operands op, int seqLen, DeviceBuffer logProbs) {
        DeviceBuffer hidden = op.hidden(), weight = op.weight(), targets = op.targets(), logits = op.logits(),
                rowLoss = op.rowLoss();
        int tokens = op.tokens(), dim = op.dim(), vocab = op.vocab();
        int sequences = sequences(tokens, seqLen);
        FlashAttention.requireBuffer("sequence log-probabilities", logProbs, 4L * sequences);
        int chunk = op.chunk();
        for (int first = 0; first < tokens; first += chunk) {
            int rows = Math.min(chunk, tokens - first);
            gemm.logits(stream, rows(hidden, first, rows, dim), weight, chunkLogits(logits, rows, vocab), rows, vocab,
                    dim);
            crossEntropy.launch(stream, LaunchShape.of(rows, THREADS), logits, targets.address() + 4L * first,
                    rowLoss.address() + 4L * first, vocab, 1f);
        }
        for (int s = 0; s < sequences; s++) {
            mean.launch(stream, LaunchShape.of(1, MEAN_THREADS), rowLoss.address() + 4L * s * seqLen,
                    logProbs.address() + 4L * s, seqLen, -1f);
        }
    }

    /**
     * Queues the gradient of {@code sum_s sequenceWeights[s] · (sum of the row losses of sequence s)} into
     * dHidden, sequence s being rows {@code s·seqLen} to {@code (s+1)·seqLen - 1}: {@link #run} with each row's
     * logit gradient scaled by its sequence's weight instead of 1 / countedTokens. DPO backpropagates
     * {@code sum_s c_s · log p_s} with weights {@code -c_s}. Row losses are rewritten; no mean.
     */
    public void backwardWeighted(Stream stream, Operands op, int seqLen, float[] sequenceWeights,
                                 DeviceBuffer dHidden) {
        DeviceBuffer hidden = op.hidden(), weight = op.weight(), targets = op.targets(), logits = op.logits(),
                rowLoss = op.rowLoss();
        int tokens = op.tokens(), dim = op.dim(), vocab = op.vocab();
        int sequences = sequences(tokens, seqLen);
        if (sequenceWeights.length != sequences) {
            throw new IllegalArgumentException(sequenceWeights.length + " sequence weights for " + sequences
                    + " sequences of " + seqLen + " tokens");
        }
        FlashAttention.requireBuffer("hidden-state gradient", dHidden, 2L * tokens * dim);
        int chunk = op.chunk();
        for (int first = 0; first < tokens; first += chunk) {
            int rows = Math.min(chunk, tokens - first);
            DeviceBuffer chunkLogits = chunkLogits(logits, rows, vocab);
            gemm.logits(stream, rows(hidden, first, rows, dim), weight, chunkLogits, rows, vocab, dim);
            // The kernel scales a launch's rows by one factor: one launch per piece of a sequence in the chunk.
            for (int row = first; row < first + rows; ) {
                int end = Math.min(first + rows, (row / seqLen + 1) * seqLen);
                crossEntropy.launch(stream, LaunchShape.of(end - row, THREADS),
                        logits.address() + 2L * (row - first) * vocab, targets.address() + 4L * row,
                        rowLoss.address() + 4L * row, vocab, sequenceWeights[row / seqLen]);
                row = end;
            }
            gemm.hiddenGradient(stream, chunkLogits, weight, rows(dHidden, first, rows, dim), rows, vocab, dim);
        }
    }

    /** Rows {@code [first, first + count)} of a bf16 matrix of {@code width} columns. */
    private static DeviceBuffer rows(DeviceBuffer matrix, int first, int count, int width) {
        return matrix.slice(2L * first * width, 2L * count * width);
    }

    /** The part of the logits workspace a chunk of {@code rows} uses. */
    private static DeviceBuffer chunkLogits(DeviceBuffer logits, int rows, int vocab) {
        return logits.slice(0, logitsBytes(rows, vocab));
    }

    private static int sequences(int tokens, int seqLen) {
        if (seqLen <= 0 || tokens % seqLen != 0) {
            throw new IllegalArgumentException(tokens + " tokens do not split into sequences of " + seqLen);
        }
        return tokens / seqLen;
    }

    private static void requireShapes(DeviceBuffer hidden, DeviceBuffer weight, DeviceBuffer targets, int tokens,
                                      int dim, int vocab, DeviceBuffer logits, DeviceBuffer rowLoss) {
        if (tokens <= 0 || dim <= 0 || vocab <= 0) {
            throw new IllegalArgumentException("cross-entropy sizes must be positive: " + tokens + " tokens, dim "
                    + dim + ", vocab " + vocab);
        }
        if (vocab % 8 != 0) {
            throw new IllegalArgumentException("vocab " + vocab + " is not a multiple of 8 (the kernel reads 16-byte"
                    + " vectors of logits)");
        }
        if (dim % 8 != 0) {
            throw new IllegalArgumentException("hidden size " + dim + " is not a multiple of 8 (rows must stay"
                    + " 16-byte aligned)");
        }
        FlashAttention.requireBuffer("hidden states", hidden, 2L * tokens * dim);
        FlashAttention.requireBuffer("LM head weight", weight, 2L * vocab * dim);
        FlashAttention.requireBuffer("targets", targets, 4L * tokens);
        FlashAttention.requireBuffer("row losses", rowLoss, 4L * tokens);
        FlashAttention.requireBuffer("logits workspace", logits, logitsBytes(1, vocab));
    }
}
