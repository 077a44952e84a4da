package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The first kernels against CPU computations on fresh random data, outputs poisoned beforehand. */
@GpuTest
class FirstKernelsGpuTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 31, 1000, 65_537, 3_000_017})
    void fillWritesEveryElement(int n) {
        long seed = System.nanoTime();
        float value = (float) new SplittableRandom(seed).nextDouble(-10, 10);
        Context context = GpuFixture.context();
        Kernel fill = context.module("fill").kernel("fill_f32");
        try (Stream stream = context.createStream(); DeviceBuffer out = GpuFixture.poisoned(context, stream, n)) {
            fill.launch(stream, LaunchShape.of(Math.min(1024, LaunchShape.blocksFor(n, 256)), 256), out, (long) n, value);
            stream.synchronize();
            float[] result = GpuFixture.download(out, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(value), Float.floatToRawIntBits(result[i]),
                        "element " + i + " of " + n + ", seed " + seed);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 255, 4099, 1_000_003})
    void scaleAddIsOneFusedMultiplyAddPerElement(int n) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = GpuFixture.randomFloats(random, n);
        float[] y = GpuFixture.randomFloats(random, n);
        float alpha = (float) random.nextDouble(-3, 3);
        Context context = GpuFixture.context();
        Kernel scaleAdd = context.module("scale_add").kernel("scale_add_f32");
        try (Stream stream = context.createStream();
             DeviceBuffer dx = GpuFixture.upload(context, x);
             DeviceBuffer dy = GpuFixture.upload(context, y)) {
            scaleAdd.launch(stream, LaunchShape.of(LaunchShape.blocksFor(n, 128), 128), dy, dx, alpha, (long) n);
            stream.synchronize();
            float[] result = GpuFixture.download(dy, n);
            for (int i = 0; i < n; i++) {
                float expected = Math.fma(alpha, x[i], y[i]);
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(result[i]),
                        "element " + i + " of " + n + ", seed " + seed);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1,32", "3,1000,256", "129,4097,256", "1000,33,64", "17,100000,1024", "2,5,1024"})
    void rowSumMatchesDoublePrecisionWithinFloatAccumulationError(int rows, int cols, int block) {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        float[] in = GpuFixture.randomFloats(random, rows * cols);
        Context context = GpuFixture.context();
        Kernel rowSum = context.module("reduce").kernel("row_sum_f32");
        try (Stream stream = context.createStream();
             DeviceBuffer din = GpuFixture.upload(context, in);
             DeviceBuffer out = GpuFixture.poisoned(context, stream, rows)) {
            rowSum.launch(stream, LaunchShape.of(rows, block), out, din, rows, cols);
            stream.synchronize();
            float[] result = GpuFixture.download(out, rows);
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    sum += in[r * cols + c];
                    magnitude += Math.abs(in[r * cols + c]);
                }
                // Each partial sum adds at most (terms per thread + tree depth) roundings of 2^-24 relative.
                double bound = (cols / (double) block + 12) * Math.ulp(1.0f) * magnitude + Float.MIN_NORMAL;
                assertTrue(Math.abs(result[r] - sum) <= bound, "row " + r + ": got " + result[r] + ", expected "
                        + sum + " within " + bound + " (" + rows + "x" + cols + ", block " + block + ", seed " + seed + ")");
            }
        }
    }
}
