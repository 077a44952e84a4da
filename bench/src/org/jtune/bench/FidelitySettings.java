package org.jtune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What both sides of a fidelity run share, written to {@code DIR/fidelity.json} by {@code jtune-bench fidelity}
 * and read by bench/peer/fidelity_peer.py, so that the two cannot disagree on a setting: the shape, the batches'
 * size, LoRA, and the optimizer (AdamW, a constant learning rate without warmup, clipping, one micro-batch per
 * step).
 *
 * @param bInitStd the standard deviation of the initial B matrices (A is PEFT's default initialisation)
 */
record FidelitySettings(String shape, int layers, int steps, int rows, int seqLength, int evalBatches, int loraRank,
                        double loraAlpha, double bInitStd, double learningRate, String lrSchedule, double adamBeta1,
                        double adamBeta2, double adamEpsilon, double weightDecay, double maxGradNorm,
                        int gradientAccumulationSteps, boolean gradientCheckpointing, long seed) {
    static final String FILE_NAME = "fidelity.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    FidelitySettings {
        if (steps < 1 || rows < 1 || seqLength < 2 || evalBatches < 1) {
            throw new IllegalArgumentException("a fidelity run needs at least 1 step, 1 row, 2 tokens a row and 1"
                    + " eval batch; got " + steps + " steps, " + rows + " rows of " + seqLength + " tokens, "
                    + evalBatches + " eval batches");
        }
    }

    /**
     * The defaults: LoRA r = 16, alpha 16 on all seven projections; B ~ N(0, 0.01²) so that step 1's gradients
     * reach A (with PEFT's B = 0, A's first gradient is exactly zero on both sides and its backward is first
     * compared only after an optimizer step); AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01,
     * constant rate without warmup (a decaying rate would hide a late drift), clipping at 1; checkpointing on.
     * The rate is high for LoRA on purpose: the loss must travel far from its start, else a run that learns nothing
     * stays within 1% of one that learns (at 2e-4 the tiny shape's loss falls 1.5% in 200 steps, at 1e-3 9%).
     */
    static FidelitySettings defaults(String shape, int layers, int steps, int rows, int seqLength, int evalBatches) {
        return new FidelitySettings(shape, layers, steps, rows, seqLength, evalBatches, 16, 16, 0.01, 1e-3,
                "constant", 0.9, 0.999, 1e-8, 0.01, 1.0, 1, true, 1234);
    }

    FidelitySettings withLearningRate(double lr) {
        return new FidelitySettings(shape, layers, steps, rows, seqLength, evalBatches, loraRank, loraAlpha, bInitStd,
                lr, lrSchedule, adamBeta1, adamBeta2, adamEpsilon, weightDecay, maxGradNorm, gradientAccumulationSteps,
                gradientCheckpointing, seed);
    }

    void write(Path dir) throws IOException {
        JSON.writeValue(dir.resolve(FILE_NAME).toFile(), this);
    }

    static FidelitySettings read(Path dir) throws IOException {
        return JSON.readValue(dir.resolve(FILE_NAME).toFile(), FidelitySettings.class);
    }
}
