package org.jtune.model;

/**
 * RoPE inverse frequencies {@code inv_freq[i] = 1 / theta^(2i/d)} for one model, with its scaling.
 * Computed with the same float32 operations, in the same order, as HF transformers, so the values match bit for
 * bit (the float32 {@code pow} is the double {@code pow} rounded once, as a correctly rounded powf gives).
 * Dynamic (NTK) scaling keeps the state HF keeps: frequencies grow with the longest sequence seen and return to
 * the original ones when a sequence fits the original context again.
 */
public final class RopeFrequencies {
    private final int headDim;
    private final double theta;
    private final RopeScaling scaling;
    private final int maxPositionEmbeddings;
    private final float[] original;
    private float[] current;
    private int cachedSeqLen;

    public RopeFrequencies(int headDim, double theta, RopeScaling scaling, int maxPositionEmbeddings) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head dimension, got " + headDim);
        }
        if (!(theta > 0)) {
            throw new IllegalArgumentException("rope_theta must be positive, got " + theta);
        }
        this.headDim = headDim;
        this.theta = theta;
        this.scaling = scaling;
        this.maxPositionEmbeddings = maxPositionEmbeddings;
        this.original = switch (scaling.type()) {
            case DEFAULT, DYNAMIC -> defaultInvFreq(theta, headDim);
            case LINEAR -> linear(defaultInvFreq(theta, headDim), scaling.factor());
            case LLAMA3 -> llama3(defaultInvFreq(theta, headDim), scaling);
        };
        this.current = original;
        this.cachedSeqLen = maxPositionEmbeddings;
    }

    /** {@code 1 / theta^(fl32(2i) / fl32(d))} for i < d/2, all in float32 as {@code torch.arange(0, d, 2).float() / d}. */
    public static float[] defaultInvFreq(double theta, int headDim) {
        float base = (float) theta;
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            float power = (float) Math.pow(base, exponent);
            inv[i] = 1.0f / power;
        }
        return inv;
    }

    private static float[] linear(float[] inv, double factor) {
        float f = (float) factor;
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            out[i] = inv[i] / f;
        }
        return out;
    }

    /**
     * Llama 3.1 smoothing. Mirrors the tensor expressions of transformers step by step; note that
     * {@code scalar / tensor} in torch is {@code tensor.reciprocal() * scalar}.
     */
    private static float[] llama3(float[] inv, RopeScaling s) {
        float factor = (float) s.factor();
        float low = (float) s.lowFreqFactor();
        float high = (float) s.highFreqFactor();
        double oldContext = s.originalMaxPositionEmbeddings();
        float lowFreqWavelen = (float) (oldContext / s.lowFreqFactor());
        float highFreqWavelen = (float) (oldContext / s.highFreqFactor());
        float twoPi = (float) (2 * Math.PI);
        float oldContextF = (float) oldContext;
        float band = (float) (s.highFreqFactor() - s.lowFreqFactor());
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (1.0f / inv[i]) * twoPi;
            float invLlama = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = ((1.0f / wavelen) * oldContextF - low) / band;
                out[i] = (1.0f - smooth) * invLlama / factor + smooth * invLlama;
            } else {
                out[i] = invLlama;
            }
        }
        return out;
    }

    /**
     * The frequencies to use for a call whose largest position id is {@code maxPosition}. Only dynamic scaling
     * depends on it (and updates its state); the other types always return the same array.
     */
    public float[] forMaxPosition(int maxPosition) {
        if (scaling.type() != RopeScaling.Type.DYNAMIC) {
            return original;
        }
        int seqLen = maxPosition + 1;
        if (seqLen > cachedSeqLen) {
            current = dynamicInvFreq(seqLen);
            cachedSeqLen = seqLen;
        }
        if (seqLen < maxPositionEmbeddings && cachedSeqLen > maxPositionEmbeddings) {
            current = original;
            cachedSeqLen = maxPositionEmbeddings;
        }
        return current;
    }

    /** NTK base {@code theta * (factor*L/max - (factor-1))^(d/(d-2))}, computed in double, then the default formula. */
    private float[] dynamicInvFreq(int seqLen) {
        double len = Math.max(seqLen, maxPositionEmbeddings);
        double factor = scaling.factor();
        double base = theta * Math.pow(factor * len / maxPositionEmbeddings - (factor - 1),
                (double) headDim / (headDim - 2));
        return defaultInvFreq(base, headDim);
    }
}
