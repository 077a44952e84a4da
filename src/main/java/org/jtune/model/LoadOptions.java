package org.jtune.model;

import org.jtune.quant.Blocksizes;

/**
 * How {@link ModelLoader} holds the projections of a full-precision checkpoint: as stored, or quantized to NF4
 * on load ({@code loadIn4bit}) with the given blocksize and double quantization. Checkpoints already in the
 * bnb-4bit layout load as stored whatever these say.
 */
public record LoadOptions(boolean loadIn4bit, int blocksize, boolean doubleQuant) {

    /** Checks the blocksize (a power of two from 32 to 4096). */
    public LoadOptions {
        Blocksizes.require(blocksize, "load options");
    }

    /** Every tensor as stored. */
    public static LoadOptions asStored() {
        return new LoadOptions(false, Blocksizes.DEFAULT, true);
    }

    /** Projections quantized to NF4 on load with blocksize 64 and double quantization (QLoRA's, and unsloth's). */
    public static LoadOptions in4bit() {
        return new LoadOptions(true, Blocksizes.DEFAULT, true);
    }

    public LoadOptions withBlocksize(int blocksize) {
        return new LoadOptions(loadIn4bit, blocksize, doubleQuant);
    }

    public LoadOptions withDoubleQuant(boolean doubleQuant) {
        return new LoadOptions(loadIn4bit, blocksize, doubleQuant);
    }
}
