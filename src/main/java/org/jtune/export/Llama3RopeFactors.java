package org.jtune.export;

import org.jtune.model.ModelConfig;
import org.jtune.model.RopeFrequencies;
import org.jtune.model.RopeScaling;

/**
 * The {@code rope_freqs} tensor llama.cpp takes Llama 3 RoPE scaling from: per frequency the factor it divides the
 * unscaled frequency by (1 for short wavelengths, {@code factor} for long ones, smoothly between), computed as
 * llama.cpp's converter computes it, in float32.
 */
final class Llama3RopeFactors {
    private Llama3RopeFactors() {}

    static float[] of(ModelConfig c) {
        RopeScaling s = c.ropeScaling();
        if (s.type() != RopeScaling.Type.LLAMA3) {
            throw new IllegalArgumentException("not llama3 rope scaling: " + s.type());
        }
        float[] inv = RopeFrequencies.defaultInvFreq(c.ropeTheta(), c.headDim());
        float factor = (float) s.factor();
        float low = (float) s.lowFreqFactor();
        float high = (float) s.highFreqFactor();
        float oldContext = s.originalMaxPositionEmbeddings();
        float lowFreqWavelen = (float) (s.originalMaxPositionEmbeddings() / s.lowFreqFactor());
        float highFreqWavelen = (float) (s.originalMaxPositionEmbeddings() / s.highFreqFactor());
        float twoPi = (float) (2 * Math.PI);
        float band = (float) (s.highFreqFactor() - s.lowFreqFactor());
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (1.0f / inv[i]) * twoPi;
            if (wavelen < highFreqWavelen) {
                out[i] = 1;
            } else if (wavelen > lowFreqWavelen) {
                out[i] = factor;
            } else {
                float smooth = ((1.0f / wavelen) * oldContext - low) / band;
                out[i] = 1.0f / ((1 - smooth) / factor + smooth);
            }
        }
        return out;
    }
}
