package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.data.EpochIterator;
import org.jtune.data.IterationState;
import org.jtune.data.PackedBatch;
import org.jtune.data.PaddedBatch;
import org.jtune.data.SftBatches;
import org.jtune.data.SftDataset;
import org.jtune.model.Batch;

import java.io.IOException;

/**
 * The batches of an {@link SftDataset} for the trainer: packed rows (several whole examples per row, attention kept
 * inside each) or one example per row, shuffled every epoch from the run's seed. Rows shorter than the longest row
 * of their batch are filled with the padding id, as a document of their own whose labels are all ignored, so that
 * padding neither sees nor is seen by real tokens and adds nothing to the loss.
 */
public final class SftBatchSource implements BatchSource<Batch> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SftDataset dataset;
    private final int rowsPerBatch;
    private final boolean packing;
    private final boolean shuffle;
    private final int units;
    private int epoch;
    private EpochIterator<?> iterator;

    /**
     * @param rowsPerBatch packed rows, or examples, per micro-batch
     * @param packing      pack examples into rows of the dataset's maximum length
     * @param shuffle      visit the rows in a new order every epoch (false: dataset order, e.g. for evaluation)
     */
    public SftBatchSource(SftDataset dataset, int rowsPerBatch, boolean packing, boolean shuffle) {
        if (rowsPerBatch <= 0) {
            throw new IllegalArgumentException("rows per batch must be positive, got " + rowsPerBatch);
        }
        if (dataset.size() == 0) {
            throw new IllegalArgumentException("the dataset has no example to train on");
        }
        this.dataset = dataset;
        this.rowsPerBatch = rowsPerBatch;
        this.packing = packing;
        this.shuffle = shuffle;
        this.units = SftBatches.start(0, dataset, packing).units();
        startEpoch(0, 0);
    }

    /**
     * The batches a trainer takes for training: {@code args}' per-device batch size, packed rows, a new order every
     * epoch. {@link #builder} chooses otherwise.
     */
    public static SftBatchSource forTraining(SftDataset dataset, TrainingArguments args) {
        return builder(dataset).rowsPerBatch(args.perDeviceTrainBatchSize()).build();
    }

    /** The batches of an eval split: {@code args}' batch size, packed rows, in dataset order. */
    public static SftBatchSource forEvaluation(SftDataset dataset, TrainingArguments args) {
        return builder(dataset).rowsPerBatch(args.perDeviceTrainBatchSize()).shuffle(false).build();
    }

    /** Options by name instead of bare booleans: 2 rows, packed, shuffled unless changed. */
    public static Builder builder(SftDataset dataset) {
        return new Builder(dataset);
    }

    /** Chooses the rows per batch, packing and shuffling of an {@link SftBatchSource}. */
    public static final class Builder {
        private final SftDataset dataset;
        private int rowsPerBatch = 2;
        private boolean packing = true;
        private boolean shuffle = true;

        private Builder(SftDataset dataset) {
            this.dataset = dataset;
        }

        public Builder rowsPerBatch(int rows) {
            rowsPerBatch = rows;
            return this;
        }

        /** Pack several examples into each row (the default), or pad one example per row. */
        public Builder packing(boolean pack) {
            packing = pack;
            return this;
        }

        /** A new order every epoch (the default), or the dataset's order. */
        public Builder shuffle(boolean shuffled) {
            shuffle = shuffled;
            return this;
        }

        public SftBatchSource build() {
            return new SftBatchSource(dataset, rowsPerBatch, packing, shuffle);
        }
    }

    /** The longest row the batches hold: the dataset's maximum length (0 where it has none). */
    public int maxLength() {
        return dataset.maxLength();
    }

    @Override
    public void startEpoch(int epoch, long seed) {
        at(epoch, new IterationState(seed, epoch, 0, units));
    }

    private void at(int epoch, IterationState position) {
        this.epoch = epoch;
        this.iterator = packing ? SftBatches.packed(dataset, rowsPerBatch, shuffle, position)
                : SftBatches.padded(dataset, rowsPerBatch, shuffle, position);
    }

    @Override
    public Batch next() {
        // The data layer's iterator runs on into the next epoch; the trainer wants to see where an epoch ends.
        if (iterator.state().epoch() != epoch) {
            return null;
        }
        return switch (iterator.next()) {
            case PackedBatch b -> toBatch(b, dataset.specialTokens().pad());
            case PaddedBatch b -> toBatch(b);
            default -> throw new IllegalStateException("unexpected batch type");
        };
    }

    @Override
    public long batchesPerEpoch() {
        return (units + rowsPerBatch - 1) / rowsPerBatch;
    }

    /** The epoch the trainer is in and the iterator's position (which is past that epoch after its last batch). */
    @Override
    public String state() {
        IterationState s = iterator.state();
        return JSON.createObjectNode().put("epoch", epoch).put("packing", packing).put("seed", s.seed())
                .put("next_epoch", s.epoch()).put("next_batch", s.batch()).put("units", s.units()).toString();
    }

    @Override
    public void restore(String state) {
        JsonNode n;
        try {
            n = JSON.readTree(state);
        } catch (IOException e) {
            throw new IllegalArgumentException("batch source state is not JSON: " + state, e);
        }
        for (String key : new String[] {"epoch", "packing", "seed", "next_epoch", "next_batch", "units"}) {
            if (n == null || !n.hasNonNull(key)) {
                throw new IllegalArgumentException("batch source state lacks \"" + key + "\": " + state);
            }
        }
        if (n.get("packing").asBoolean() != packing) {
            throw new IllegalArgumentException("cannot resume: the checkpoint was made with packing "
                    + (n.get("packing").asBoolean() ? "on" : "off") + ", this run has it " + (packing ? "on" : "off"));
        }
        at(n.get("epoch").asInt(), new IterationState(n.get("seed").asLong(), n.get("next_epoch").asInt(),
                n.get("next_batch").asInt(), n.get("units").asInt()));
    }

    /** Each packed row becomes a row of the batch; documents keep their ids, positions restart in each. */
    static Batch toBatch(PackedBatch p, int padId) {
        int rows = p.rowCount();
        int width = 0;
        for (int r = 0; r < rows; r++) {
            width = Math.max(width, p.rowStarts()[r + 1] - p.rowStarts()[r]);
        }
        int n = rows * width;
        int[] tokens = new int[n], positions = new int[n], documents = new int[n], labels = new int[n];
        for (int r = 0; r < rows; r++) {
            int from = p.rowStarts()[r], length = p.rowStarts()[r + 1] - from, at = r * width;
            System.arraycopy(p.inputIds(), from, tokens, at, length);
            System.arraycopy(p.positionIds(), from, positions, at, length);
            System.arraycopy(p.documentIds(), from, documents, at, length);
            System.arraycopy(p.labels(), from, labels, at, length);
            pad(tokens, positions, documents, labels, at + length, width - length, padId, p.documentCount() + r);
        }
        return new Batch(rows, width, tokens, positions, documents, labels);
    }

    /** One example per row: document 0 with positions 0, 1, ..., then its padding (already the pad id, unlabelled). */
    static Batch toBatch(PaddedBatch p) {
        int rows = p.rows(), width = p.width(), n = rows * width;
        int[] positions = new int[n], documents = new int[n];
        for (int r = 0; r < rows; r++) {
            int at = r * width, length = p.lengths()[r];
            for (int t = 0; t < width; t++) {
                positions[at + t] = t < length ? t : t - length;
                documents[at + t] = t < length ? 0 : 1;
            }
        }
        return new Batch(rows, width, p.inputIds(), positions, documents, p.labels());
    }

    private static void pad(int[] tokens, int[] positions, int[] documents, int[] labels, int from, int count,
                            int padId, int document) {
        for (int k = 0; k < count; k++) {
            tokens[from + k] = padId;
            positions[from + k] = k;
            documents[from + k] = document;
            labels[from + k] = Batch.IGNORE_INDEX;
        }
    }
}
