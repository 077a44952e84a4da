package org.jtune.generate;

/**
 * One step of transformers' logits processing: changes the next-token scores of one sequence in place
 * ({@code Float.NEGATIVE_INFINITY} removes a token).
 */
interface LogitsProcessor {

    /**
     * @param ids    the sequence so far, prompt included, in {@code ids[0 .. length)}
     * @param scores one score per vocabulary entry
     */
    void process(int[] ids, int length, float[] scores);
}
