package org.jtune.generate;

/**
 * A finished sequence.
 *
 * @param tokens       the new token ids; an end-of-sequence token that ended it is left out
 * @param text         their text, special tokens left out, cut before a stop string; empty when generating without
 *                     a tokenizer
 * @param promptTokens the length of the prompt
 */
public record GenerationResult(int[] tokens, String text, FinishReason finishReason, int promptTokens) {}
