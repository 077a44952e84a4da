package org.jtune.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.SafetensorsWriter;
import org.jtune.model.Batch;
import org.jtune.tensor.DType;

/**
 * The batches of a fidelity run, in the file both sides read ({@code DIR/batches.safetensors}, I32): one training
 * batch per step, in step order, and the held-out eval batches. Tensors {@code train.input_ids} and
 * {@code train.labels} are [steps, rows, length], {@code eval.*} [eval batches, rows, length]; rows have a fixed
 * length without padding, labels equal the input ids (both sides shift them as transformers does).
 *
 * <p>The text is a fixed random Markov chain over a subset of the vocabulary (each token has four successors with
 * probabilities 0.55, 0.25, 0.15, 0.05), so that the loss falls from about ln(vocab) as the adapters learn it and
 * the comparison covers a run that moves, not one that stays at its start.
 */
record FidelityBatches(List<Batch> train, List<Batch> eval) {
    static final String FILE_NAME = "batches.safetensors";
    private static final double[] SUCCESSOR_PROBABILITIES = {0.55, 0.25, 0.15, 0.05};
    private static final int MAX_ALPHABET = 1024;

    /** Fresh batches of the run's sizes from {@code seed}; the same seed gives the same batches. */
    static FidelityBatches generate(FidelitySettings s, int vocabSize, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int alphabet = Math.min(MAX_ALPHABET, vocabSize / 2);
        int[] tokens = distinctTokens(random, vocabSize, alphabet);
        int[][] successors = new int[alphabet][SUCCESSOR_PROBABILITIES.length];
        for (int[] next : successors) {
            for (int k = 0; k < next.length; k++) {
                next[k] = random.nextInt(alphabet);
            }
        }
        List<Batch> train = new ArrayList<>(), eval = new ArrayList<>();
        for (int i = 0; i < s.steps(); i++) {
            train.add(batch(random, tokens, successors, s.rows(), s.seqLength()));
        }
        for (int i = 0; i < s.evalBatches(); i++) {
            eval.add(batch(random, tokens, successors, s.rows(), s.seqLength()));
        }
        return new FidelityBatches(train, eval);
    }

    private static int[] distinctTokens(SplittableRandom random, int vocabSize, int count) {
        int[] all = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            all[i] = i;
        }
        for (int i = 0; i < count; i++) { // partial Fisher-Yates
            int j = i + random.nextInt(vocabSize - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        return Arrays.copyOf(all, count);
    }

    private static Batch batch(SplittableRandom random, int[] tokens, int[][] successors, int rows, int length) {
        int[][] ids = new int[rows][length];
        for (int[] row : ids) {
            int state = random.nextInt(tokens.length);
            for (int t = 0; t < length; t++) {
                row[t] = tokens[state];
                state = successors[state][pick(random.nextDouble())];
            }
        }
        int[][] labels = new int[rows][];
        for (int r = 0; r < rows; r++) {
            labels[r] = ids[r].clone();
        }
        return Batch.of(ids, labels);
    }

    private static int pick(double u) {
        double cumulative = 0;
        for (int k = 0; k < SUCCESSOR_PROBABILITIES.length - 1; k++) {
            cumulative += SUCCESSOR_PROBABILITIES[k];
            if (u < cumulative) {
                return k;
            }
        }
        return SUCCESSOR_PROBABILITIES.length - 1;
    }

    void write(Path dir) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            add(writer, arena, "train", train);
            add(writer, arena, "eval", eval);
            writer.write(dir.resolve(FILE_NAME));
        }
    }

    private static void add(SafetensorsWriter writer, Arena arena, String split, List<Batch> batches) {
        Batch first = batches.getFirst();
        long[] shape = {batches.size(), first.batchSize(), first.seqLen()};
        int n = first.batchSize() * first.seqLen();
        MemorySegment ids = arena.allocate(4L * n * batches.size()), labels = arena.allocate(4L * n * batches.size());
        for (int i = 0; i < batches.size(); i++) {
            MemorySegment.copy(batches.get(i).tokens(), 0, ids, ValueLayout.JAVA_INT_UNALIGNED, 4L * n * i, n);
            MemorySegment.copy(batches.get(i).labels(), 0, labels, ValueLayout.JAVA_INT_UNALIGNED, 4L * n * i, n);
        }
        writer.add(split + ".input_ids", DType.I32, shape, ids);
        writer.add(split + ".labels", DType.I32, shape, labels);
    }

    /**
     * The batches in {@code dir}'s file.
     *
     * @throws IllegalArgumentException if a tensor is missing, not I32, not of rank 3, or its labels' shape differs
     */
    static FidelityBatches read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return new FidelityBatches(readSplit(f, file, "train"), readSplit(f, file, "eval"));
        }
    }

    private static List<Batch> readSplit(SafetensorsFile f, Path file, String split) throws IOException {
        long[] shape = requireIds(f, file, split + ".input_ids");
        long[] labelShape = requireIds(f, file, split + ".labels");
        if (!Arrays.equals(shape, labelShape)) {
            throw new IllegalArgumentException(file + ": " + split + ".labels has shape " + Arrays.toString(labelShape)
                    + " but " + split + ".input_ids has " + Arrays.toString(shape));
        }
        int count = Math.toIntExact(shape[0]), rows = Math.toIntExact(shape[1]), length = Math.toIntExact(shape[2]);
        MemorySegment ids = f.data(split + ".input_ids"), labels = f.data(split + ".labels");
        List<Batch> batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[][] t = new int[rows][length], l = new int[rows][length];
            for (int r = 0; r < rows; r++) {
                long offset = 4L * ((long) i * rows + r) * length;
                MemorySegment.copy(ids, ValueLayout.JAVA_INT_UNALIGNED, offset, t[r], 0, length);
                MemorySegment.copy(labels, ValueLayout.JAVA_INT_UNALIGNED, offset, l[r], 0, length);
            }
            batches.add(Batch.of(t, l));
        }
        return batches;
    }

    private static long[] requireIds(SafetensorsFile f, Path file, String name) throws IOException {
        if (!f.contains(name)) {
            throw new IllegalArgumentException(file + " has no tensor " + name + " (it has " + f.names() + ")");
        }
        var info = f.info(name);
        if (info.dtype() != DType.I32 || info.shape().length != 3) {
            throw new IllegalArgumentException(file + ": " + name + " must be I32 [batches, rows, length], got "
                    + info.dtype() + " " + Arrays.toString(info.shape()));
        }
        return info.shape();
    }
}
