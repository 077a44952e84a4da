package org.jtune.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.GpuTest;
import org.jtune.cuda.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** embedding.ptx: rows copied bit for bit; bad ids give zero rows and a flag that the launcher turns into an error. */
@GpuTest
class EmbeddingKernelsGpuTest {

    @ParameterizedTest
    @CsvSource({"1,1,8", "37,1000,64", "513,32000,1024", "3,50,4096", "5,7,8200"})
    void gathersTheRowsOfTheIds(int tokens, int vocab, int d) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] table = KernelTests.randomBf16(random, vocab * d, 1.0);
        int[] ids = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            ids[t] = t == 0 ? vocab - 1 : random.nextInt(vocab);
        }
        Context context = KernelTests.context();
        EmbeddingKernels kernels = new EmbeddingKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dtable = KernelTests.upload(context, table);
             DeviceBuffer dids = KernelTests.upload(context, ids);
             DeviceBuffer flag = context.allocate(EmbeddingKernels.ERROR_FLAG_BYTES);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, (long) tokens * d)) {
            EmbeddingKernels.clearErrorFlag(stream, flag);
            kernels.gather(stream, out, dtable, dids, flag, tokens, vocab, d);
            EmbeddingKernels.throwIfBadIds(stream, flag, vocab);
            short[] result = KernelTests.downloadBf16(out, tokens * d);
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < d; j++) {
                    KernelTests.assertSameBf16(table[ids[t] * d + j], result[t * d + j],
                            "out[" + t + "][" + j + "] for id " + ids[t] + " (" + tokens + "x" + d + ", vocab " + vocab
                                    + ", seed " + seed + ")");
                }
            }
        }
    }

    /** Gemma 3's scaled embeddings: each element the exact product with bf16(scale), rounded once to bf16. */
    @ParameterizedTest
    @CsvSource({"1,1,8,2", "37,1000,640,25.298221", "129,5000,3840,61.967734", "5,7,8200,0.7"})
    void scaledGatherRoundsTheProductOnce(int tokens, int vocab, int d, float scale) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        short[] table = KernelTests.randomBf16(random, vocab * d, 1.0);
        table[0] = KernelTests.toBf16(-0f);
        int[] ids = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            ids[t] = t == 0 ? 0 : random.nextInt(vocab);
        }
        float s = KernelTests.bf16(KernelTests.toBf16(scale));
        Context context = KernelTests.context();
        EmbeddingKernels kernels = new EmbeddingKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dtable = KernelTests.upload(context, table);
             DeviceBuffer dids = KernelTests.upload(context, ids);
             DeviceBuffer flag = context.allocate(EmbeddingKernels.ERROR_FLAG_BYTES);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, (long) tokens * d)) {
            EmbeddingKernels.clearErrorFlag(stream, flag);
            kernels.gatherScaled(stream, out, dtable, dids, flag, tokens, vocab, d, scale);
            EmbeddingKernels.throwIfBadIds(stream, flag, vocab);
            short[] result = KernelTests.downloadBf16(out, tokens * d);
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < d; j++) {
                    // two bf16 factors: their product is exact in float32, so it is rounded once
                    short expected = KernelTests.toBf16Exact((double) KernelTests.bf16(table[ids[t] * d + j]) * s);
                    KernelTests.assertSameBf16(expected, result[t * d + j], "out[" + t + "][" + j + "] for id "
                            + ids[t] + " (" + tokens + "x" + d + ", scale " + scale + ", seed " + seed + ")");
                }
            }
        }
    }

    @Test
    void badIdsGiveZeroRowsAndAnError() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        int vocab = 50;
        int d = 16;
        short[] table = KernelTests.randomBf16(random, vocab * d, 1.0);
        int[] ids = {3, -1, 49, 50, 7};
        Context context = KernelTests.context();
        EmbeddingKernels kernels = new EmbeddingKernels(context);
        try (Stream stream = context.createStream();
             DeviceBuffer dtable = KernelTests.upload(context, table);
             DeviceBuffer dids = KernelTests.upload(context, ids);
             DeviceBuffer flag = context.allocate(EmbeddingKernels.ERROR_FLAG_BYTES);
             DeviceBuffer out = KernelTests.poisonedBf16(context, stream, (long) ids.length * d)) {
            EmbeddingKernels.clearErrorFlag(stream, flag);
            kernels.gather(stream, out, dtable, dids, flag, ids.length, vocab, d);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> EmbeddingKernels.throwIfBadIds(stream, flag, vocab));
            assertTrue(e.getMessage().contains("token id -1") || e.getMessage().contains("token id 50"),
                    e.getMessage());
            short[] result = KernelTests.downloadBf16(out, ids.length * d);
            for (int t = 0; t < ids.length; t++) {
                boolean bad = ids[t] < 0 || ids[t] >= vocab;
                for (int j = 0; j < d; j++) {
                    short expected = bad ? 0 : table[ids[t] * d + j];
                    KernelTests.assertSameBf16(expected, result[t * d + j],
                            "out[" + t + "][" + j + "] for id " + ids[t] + ", seed " + seed);
                }
            }
            EmbeddingKernels.clearErrorFlag(stream, flag);
            EmbeddingKernels.throwIfBadIds(stream, flag, vocab);
            assertEquals(0, KernelTests.downloadInts(flag, 1)[0]);
        }
    }
}
