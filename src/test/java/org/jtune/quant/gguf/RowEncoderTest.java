package org.jtune.quant.gguf;

import org.jtune.io.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The block encoders against a dequantization written from ggml's published layouts: every decoded value within
 * the error the format allows, on fresh random rows of several kinds (Gaussian, heavy-tailed with outliers,
 * constant, zero, tiny, one-signed).
 */
class RowEncoderTest {
    private static final GgmlType[] QUANTIZED = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K};

    /** Rows of 4 super-blocks, each block of one kind. */
    static float[] rows(long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[2048];
        for (int b = 0; b < x.length / 256; b++) {
            int kind = b % 8;
            float scale = (float) Math.exp(rnd.nextGaussian() * 2);
            for (int i = 256 * b; i < 256 * (b + 1); i++) {
                x[i] = switch (kind) {
                    case 0, 1 -> (float) rnd.nextGaussian() * scale;
                    case 2 -> (float) (rnd.nextGaussian() * scale * (rnd.nextInt(50) == 0 ? 30 : 1)); // outliers
                    case 3 -> scale;                                                                     // constant
                    case 4 -> 0f;
                    case 5 -> (float) rnd.nextGaussian() * 1e-12f;                                        // tiny
                    case 6 -> Math.abs((float) rnd.nextGaussian()) * scale;                               // one sign
                    default -> (rnd.nextFloat() - 0.5f) * scale;
                };
            }
        }
        return x;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q5_0"})
    void symmetricBlocksDecodeWithinOneStep(GgmlType type) {
        int levels = switch (type) {
            case Q8_0 -> 127;
            case Q4_0 -> 8;
            default -> 16;
        };
        int blockBytes = type.blockBytes();
        for (long seed = 1; seed <= 5; seed++) {
            float[] x = rows(seed);
            byte[] out = encode(type, x);
            float[] y = GgmlDequantizer.decode(type, out, x.length);
            for (int b = 0; b < x.length / 32; b++) {
                float amax = 0;
                float max = 0;
                for (int j = 0; j < 32; j++) {
                    float v = x[32 * b + j];
                    if (Math.abs(v) > amax) {
                        amax = Math.abs(v);
                        max = v;
                    }
                }
                // the format's scale: max|x| / 127 for Q8_0, the largest-magnitude value over -8 (-16) for Q4_0 (Q5_0)
                float exact = type == GgmlType.Q8_0 ? amax / 127 : max / -levels;
                float stored = Float.float16ToFloat((short) ((out[blockBytes * b] & 0xFF) | out[blockBytes * b + 1] << 8));
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(exact)), stored, type + " block " + b + " scale");
                // Q8_0 rounds to the nearest step; Q4_0/Q5_0 too, except that the largest code on the side opposite
                // the largest magnitude is cut off one step short. Storing the scale in fp16 moves a code q by
                // |q| times the scale's rounding error.
                double bound = (type == GgmlType.Q8_0 ? 0.5 : 1.0) * Math.abs(exact)
                        + levels * Math.abs(exact - stored) + 1e-7 * amax;
                for (int j = 0; j < 32; j++) {
                    int i = 32 * b + j;
                    assertTrue(Math.abs(x[i] - y[i]) <= bound, type + " seed " + seed + " value " + i + ": "
                            + x[i] + " decoded as " + y[i] + ", bound " + bound);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void superBlocksDecodeWithinTheirSubBlockSteps(GgmlType type) {
        // a k-quant's value is within about half a sub-block step of x once the 6- or 8-bit scales are applied; the
        // step is bounded by the sub-block's range over the code count, plus the scales' own rounding
        int codes = switch (type) {
            case Q4_K -> 15;
            case Q5_K -> 31;
            default -> 63;
        };
        int sub = type == GgmlType.Q6_K ? 16 : 32;
        for (long seed = 1; seed <= 5; seed++) {
            float[] x = rows(seed);
            float[] y = GgmlDequantizer.decode(type, encode(type, x), x.length);
            for (int b = 0; b < x.length / 256; b++) {
                float blockRange = 0;
                for (int i = 256 * b; i < 256 * (b + 1); i++) {
                    blockRange = Math.max(blockRange, Math.abs(x[i]));
                }
                for (int s = 256 * b; s < 256 * (b + 1); s += sub) {
                    float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
                    for (int i = s; i < s + sub; i++) {
                        min = Math.min(min, x[i]);
                        max = Math.max(max, x[i]);
                    }
                    double range = type == GgmlType.Q6_K ? 2 * Math.max(Math.abs(min), Math.abs(max))
                            : Math.max(max, 0) - Math.min(min, 0);
                    // half a step of the sub-block, plus the 6-bit quantization of its scale and minimum (a 64th of
                    // the super-block's largest, per code), plus the fp16 rounding of the super-block factors (which
                    // flush to zero below 2^-24: a block of tiny values decodes as zeros)
                    double bound = range / codes * 0.75 + 2 * blockRange / 63 + 63.0 * codes * Math.pow(2, -25);
                    for (int i = s; i < s + sub; i++) {
                        assertTrue(Math.abs(x[i] - y[i]) <= bound, type + " seed " + seed + " value " + i + ": " + x[i]
                                + " decoded as " + y[i] + " (bound " + bound + ")");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
    void errorShrinksWithBits(GgmlType type) {
        Random rnd = new Random(3);
        float[] x = new float[256 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] y = GgmlDequantizer.decode(type, encode(type, x), x.length);
        double err = 0, norm = 0;
        for (int i = 0; i < x.length; i++) {
            err += (x[i] - y[i]) * (double) (x[i] - y[i]);
            norm += x[i] * (double) x[i];
        }
        double relativeRms = Math.sqrt(err / norm);
        // Gaussian rows: the relative RMS error of each format, about 2^-bits times a small constant
        double limit = switch (type) {
            case Q8_0 -> 0.006;
            case Q4_0 -> 0.12;
            case Q5_0 -> 0.06;
            case Q4_K -> 0.10;
            case Q5_K -> 0.05;
            default -> 0.025;
        };
        assertTrue(relativeRms < limit, type + ": relative RMS error " + relativeRms);
    }

    @Test
    void floatTypesRoundToNearestEven() {
        float[] x = {1.0f, 1.0009766f, 1.0004883f, -65504f, 70000f, Float.MIN_VALUE, 3.1415927f};
        byte[] f16 = encode(GgmlType.F16, x);
        byte[] bf16 = encode(GgmlType.BF16, x);
        byte[] f32 = encode(GgmlType.F32, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToFloat16(x[i]), (short) ((f16[2 * i] & 0xFF) | f16[2 * i + 1] << 8));
            int bits = Float.floatToRawIntBits(x[i]);
            short expectedBf16 = (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
            assertEquals(expectedBf16, (short) ((bf16[2 * i] & 0xFF) | bf16[2 * i + 1] << 8));
            int stored = (f32[4 * i] & 0xFF) | (f32[4 * i + 1] & 0xFF) << 8 | (f32[4 * i + 2] & 0xFF) << 16
                    | f32[4 * i + 3] << 24;
            assertEquals(bits, stored);
        }
    }

    @Test
    void refusesPartialBlocks() {
        for (GgmlType type : QUANTIZED) {
            RowEncoder e = RowEncoder.forType(type);
            assertThrows(IllegalArgumentException.class, () -> e.encode(new float[48], 0, 48, new byte[1000], 0));
        }
    }

    static byte[] encode(GgmlType type, float[] x) {
        byte[] out = new byte[Math.toIntExact(type.rowBytes(x.length))];
        RowEncoder.forType(type).encode(x, 0, x.length, out, 0);
        return out;
    }
}
