package org.jtune.model.gpu;

/**
 * Where a micro-batch's inputs lie in their device buffer (and in the identical host staging area, so one copy
 * moves them all): int32 token ids, position ids, shifted targets, document offsets (cu_seqlens, up to one
 * document per token), and the float32 RoPE inverse frequencies. Each part starts on 16 bytes.
 */
record InputLayout(int maxTokens, int halfHeadDim, long tokens, long positions, long targets, long cuSeqlens,
                   long invFreq, long bytes) {

    static InputLayout of(int maxTokens, int headDim) {
        long n = maxTokens;
        long tokens = 0;
        long positions = align16(tokens + 4 * n);
        long targets = align16(positions + 4 * n);
        long cuSeqlens = align16(targets + 4 * n);
        long invFreq = align16(cuSeqlens + 4 * (n + 1));
        long bytes = align16(invFreq + 4L * (headDim / 2));
        return new InputLayout(maxTokens, headDim / 2, tokens, positions, targets, cuSeqlens, invFreq, bytes);
    }

    private static long align16(long offset) {
        return (offset + 15) / 16 * 16;
    }
}
