package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/**
 * Rotary position embedding in place on bf16 Q [T, H, d] and K [T, Hkv, d], HF split-half convention,
 * cos/sin rounded to bf16 as HF does ({@code rope.ptx}). The host supplies inv_freq, so every rope
 * scaling variant is a host-side table.
 */
public final class RopeKernels {
    private static final int MAX_HEAD_DIM = 2048;
    /** Frequencies one thread rotates with 16-byte loads and stores. */
    private static final int VECTOR = 8;

    private final Kernel rope;

    public RopeKernels(Context context) {
        this.rope = context.module("rope").kernel("rope_bf16");
    }

    /** Rotates q and k by each token's position: x * cos + rotate_half(x) * sin. */
    public void forward(Stream stream, DeviceBuffer q, DeviceBuffer k, DeviceBuffer positions, DeviceBuffer invFreq,
                        int tokens, int qHeads, int kHeads, int headDim) {
        launch("rope forward", stream, q, k, positions, invFreq, tokens, qHeads, kHeads, headDim, 0);
    }

    /** Turns the gradients dq, dk of the rotated values into gradients of the unrotated ones (in place). */
    public void backward(Stream stream, DeviceBuffer dq, DeviceBuffer dk, DeviceBuffer positions, DeviceBuffer invFreq,
                         int tokens, int qHeads, int kHeads, int headDim) {
        launch("rope backward", stream, dq, dk, positions, invFreq, tokens, qHeads, kHeads, headDim, 1);
    }

    private void launch(String name, Stream stream, DeviceBuffer q, DeviceBuffer k, DeviceBuffer positions,
                        DeviceBuffer invFreq, int tokens, int qHeads, int kHeads, int headDim, int backward) {
        Checks.positive(name, "tokens", tokens);
        Checks.positive(name, "q heads", qHeads);
        Checks.positive(name, "k heads", kHeads);
        Checks.positive(name, "head dim", headDim);
        Checks.multipleOf(name, "head dim", headDim, 2);
        if (headDim > MAX_HEAD_DIM) {
            throw new IllegalArgumentException(name + ": head dim " + headDim + " exceeds " + MAX_HEAD_DIM
                    + " (cos and sin of one token are computed one thread per frequency, 1024 threads a block)");
        }
        long limit = 0xFFFF_FFFFL;
        Checks.product(name, "tokens x q heads", tokens, qHeads, limit);
        Checks.product(name, "tokens x k heads", tokens, kHeads, limit);
        Checks.buffer(name, "q", q, 2L * tokens * qHeads * headDim, 2);
        Checks.buffer(name, "k", k, 2L * tokens * kHeads * headDim, 2);
        Checks.buffer(name, "positions", positions, 4L * tokens, 4);
        Checks.buffer(name, "inv_freq", invFreq, 4L * (headDim / 2), 4);
        int half = headDim / 2;
        // 16-byte vectors of 8 frequencies where the halves and both tensors allow it, else one at a time.
        boolean vector = half % VECTOR == 0 && q.address() % 16 == 0 && k.address() % 16 == 0;
        long items = ((long) qHeads + kHeads) * (vector ? half / VECTOR : half);
        int threads = (int) Math.min(1024, (Math.max(half, items) + 31) / 32 * 32);
        rope.launch(stream, LaunchShape.of(tokens, threads), q, k, positions, invFreq, tokens, qHeads, kHeads,
                headDim, backward, vector ? 1 : 0);
    }
}
