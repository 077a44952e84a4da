package org.jtune.kernels;

import static org.jtune.kernels.KernelTests.toBf16;

import java.util.HexFormat;
import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.jtune.quant.DynamicMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** nf4.ptx bit for bit against the dequantization formula of the formats spec (section 4), written out here. */
@GpuTest
class Nf4KernelsGpuTest {
    /** The NF4 code table as float32 bits (formats spec section 1). */
    private static final int[] NF4_BITS = {
        0xBF800000, 0xBF3239B1, 0xBF066B30, 0xBECA32A0, 0xBE91A24D, 0xBE3D353F, 0xBDBA7871, 0x00000000,
        0x3DA2FAFF, 0x3E24CAE3, 0x3E7C04DD, 0x3EAD033A, 0x3EE1A4B8, 0x3F1007AB, 0x3F3913B3, 0x3F800000};

    private static float nf4(int code) {
        return Float.intBitsToFloat(NF4_BITS[code]);
    }

    /** Element j of the packed codes: high nibble of byte j/2 for even j, low nibble for odd j. */
    private static int code(byte[] packed, long j) {
        int b = packed[(int) (j / 2)] & 0xFF;
        return j % 2 == 0 ? b >>> 4 : b & 0x0F;
    }

    @ParameterizedTest
    @CsvSource({"32,32", "64,64", "4096,64", "192,64", "1048576,64", "12288,4096", "8192,128"})
    void floatAbsmaxDequantizesExactly(int n, int blocksize) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        byte[] packed = new byte[n / 2];
        random.nextBytes(packed);
        int blocks = (n + blocksize - 1) / blocksize;
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            absmax[b] = (float) Math.scalb(random.nextDouble(0.5, 1.0), random.nextInt(-12, 4));
        }
        Context context = KernelTests.context();
        Nf4Kernels kernels = new Nf4Kernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dpacked = KernelTests.upload(context, packed);
             DeviceBuffer dabsmax = KernelTests.upload(context, absmax);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.dequantize(stream, out, dpacked, dabsmax, n, blocksize);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(out, n);
            for (int j = 0; j < n; j++) {
                int c = code(packed, j);
                float scale = absmax[j / blocksize];
                KernelTests.assertSameBf16(toBf16(nf4(c) * scale), result[j],
                        "w[" + j + "] code " + c + " absmax " + scale + " (n " + n + ", blocksize " + blocksize
                                + ", seed " + seed + ")");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"64,64,256", "4096,64,256", "1048576,64,256", "1050624,64,256", "65536,128,16"})
    void doubleQuantAbsmaxDequantizesExactly(int n, int blocksize, int nestedBlocksize) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        byte[] packed = new byte[n / 2];
        random.nextBytes(packed);
        int blocks = (n + blocksize - 1) / blocksize;
        byte[] qabs = new byte[blocks];
        random.nextBytes(qabs);
        float[] nestedMap = KernelTests.randomFloats(random, 256, 1.0);
        int nested = (blocks + nestedBlocksize - 1) / nestedBlocksize;
        float[] nestedAbsmax = new float[nested];
        for (int i = 0; i < nested; i++) {
            nestedAbsmax[i] = (float) random.nextDouble(0.001, 0.1);
        }
        float offset = (float) random.nextDouble(0.01, 0.2);
        Context context = KernelTests.context();
        Nf4Kernels kernels = new Nf4Kernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dpacked = KernelTests.upload(context, packed);
             DeviceBuffer dqabs = KernelTests.upload(context, qabs);
             DeviceBuffer dmap = KernelTests.upload(context, nestedMap);
             DeviceBuffer dnested = KernelTests.upload(context, nestedAbsmax);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.dequantizeDoubleQuant(stream, out, dpacked, dqabs, dmap, dnested, offset, n, blocksize,
                    nestedBlocksize);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(out, n);
            for (int j = 0; j < n; j++) {
                int block = j / blocksize;
                // Two roundings: the product, then the sum (Java float arithmetic never fuses them).
                float product = nestedMap[qabs[block] & 0xFF] * nestedAbsmax[block / nestedBlocksize];
                float scale = product + offset;
                int c = code(packed, j);
                KernelTests.assertSameBf16(toBf16(nf4(c) * scale), result[j],
                        "w[" + j + "] code " + c + " block " + block + " absmax " + scale + " (n " + n + ", blocksize "
                                + blocksize + "/" + nestedBlocksize + ", seed " + seed + ")");
            }
        }
    }

    /** Test vector TV2 of the formats spec: 8 rows of 64, double quantization, known dequantized values. */
    @Test
    void specTestVectorTwo() {
        byte[] rowStart = HexFormat.of().parseHex("06e4d2c1a18f6e4d");
        int n = 8 * 64;
        byte[] packed = new byte[n / 2];
        for (int row = 0; row < 8; row++) {
            System.arraycopy(rowStart, 0, packed, row * 32, rowStart.length);
        }
        byte[] qabs = {0, 20, 40, 60, (byte) 194, (byte) 214, (byte) 234, (byte) 255};
        int[] absmaxBits = {0x3C832666, 0x3D009332, 0x3D3F9334, 0x3D7E9333, 0x3DA0B666, 0x3DC03666, 0x3DDFB667,
            0x3E000000};
        Context context = KernelTests.context();
        Nf4Kernels kernels = new Nf4Kernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dpacked = KernelTests.upload(context, packed);
             DeviceBuffer dqabs = KernelTests.upload(context, qabs);
             DeviceBuffer dmap = KernelTests.upload(context, DynamicMap.table());
             DeviceBuffer dnested = KernelTests.upload(context, new float[] {Float.intBitsToFloat(0x3D600000)});
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, n)) {
            kernels.dequantizeDoubleQuant(stream, out, dpacked, dqabs, dmap, dnested, Float.intBitsToFloat(0x3D900000),
                    n, 64, 256);
            stream.synchronize();
            short[] result = KernelTests.downloadBf16(out, n);
            for (int row = 0; row < 8; row++) {
                // Byte 0x06: the row's first element has code 0 (-1.0), so it is -absmax.
                KernelTests.assertSameBf16(toBf16(-Float.intBitsToFloat(absmaxBits[row])), result[row * 64],
                        "first element of row " + row);
            }
            short[] row7 = {(short) 0xBE00, (short) 0xBC3A, (short) 0x3DB9, (short) 0xBD12};
            for (int j = 0; j < row7.length; j++) {
                KernelTests.assertSameBf16(row7[j], result[7 * 64 + j], "row 7 element " + j);
            }
        }
    }
}
