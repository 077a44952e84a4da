package org.jtune.generate;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * How to pick tokens and when to stop, with the names and defaults of transformers' {@code GenerationConfig}:
 * greedy unless {@code do_sample}; when sampling, {@code temperature}, {@code top_k} (50 by default, 0 = off),
 * {@code top_p} and {@code min_p} (0 = off) reshape the distribution in that order, after
 * {@code repetition_penalty} (which also applies to greedy decoding). Generation stops at one of the
 * {@code eos_token_id}s (left out of the text), at a stop string (cut from the text, as OpenAI's API does), or
 * after {@code max_new_tokens} tokens. transformers' default length is 20 tokens in all; here it is 256 new
 * tokens, since prompts are usually chat turns.
 *
 * @param seed         seeds each sequence's sampling, so that a request gives the same tokens on every run; null
 *                     for fresh randomness
 * @param eosTokenIds  token ids that end a sequence
 * @param stopStrings  texts that end a sequence
 */
public record GenerationConfig(boolean doSample, double temperature, int topK, double topP, double minP,
                               double repetitionPenalty, int maxNewTokens, Long seed, Set<Integer> eosTokenIds,
                               List<String> stopStrings) {

    public static final int DEFAULT_MAX_NEW_TOKENS = 256;

    public GenerationConfig {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a positive number, got " + temperature);
        }
        if (doSample && temperature == 0) {
            throw new IllegalArgumentException("temperature 0 with do_sample: for greedy decoding set do_sample to"
                    + " false");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be 0 (off) or positive, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition_penalty must be a positive number, got "
                    + repetitionPenalty);
        }
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("max_new_tokens must be positive, got " + maxNewTokens);
        }
        eosTokenIds = Set.copyOf(eosTokenIds);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("a stop string is empty");
            }
        }
        stopStrings = List.copyOf(stopStrings);
    }

    /** transformers' defaults (greedy), {@link #DEFAULT_MAX_NEW_TOKENS} new tokens, no EOS ids, no stop strings. */
    public static GenerationConfig defaults() {
        return new GenerationConfig(false, 1.0, 50, 1.0, 0.0, 1.0, DEFAULT_MAX_NEW_TOKENS, null, Set.of(),
                List.of());
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return defaults().withMaxNewTokens(maxNewTokens);
    }

    public GenerationConfig withDoSample(boolean v) {
        return new GenerationConfig(v, temperature, topK, topP, minP, repetitionPenalty, maxNewTokens, seed,
                eosTokenIds, stopStrings);
    }

    public GenerationConfig withTemperature(double v) {
        return new GenerationConfig(doSample, v, topK, topP, minP, repetitionPenalty, maxNewTokens, seed,
                eosTokenIds, stopStrings);
    }

    public GenerationConfig withTopK(int v) {
        return new GenerationConfig(doSample, temperature, v, topP, minP, repetitionPenalty, maxNewTokens, seed,
                eosTokenIds, stopStrings);
    }

    public GenerationConfig withTopP(double v) {
        return new GenerationConfig(doSample, temperature, topK, v, minP, repetitionPenalty, maxNewTokens, seed,
                eosTokenIds, stopStrings);
    }

    public GenerationConfig withMinP(double v) {
        return new GenerationConfig(doSample, temperature, topK, topP, v, repetitionPenalty, maxNewTokens, seed,
                eosTokenIds, stopStrings);
    }

    public GenerationConfig withRepetitionPenalty(double v) {
        return new GenerationConfig(doSample, temperature, topK, topP, minP, v, maxNewTokens, seed, eosTokenIds,
                stopStrings);
    }

    public GenerationConfig withMaxNewTokens(int v) {
        return new GenerationConfig(doSample, temperature, topK, topP, minP, repetitionPenalty, v, seed, eosTokenIds,
                stopStrings);
    }

    public GenerationConfig withSeed(Long v) {
        return new GenerationConfig(doSample, temperature, topK, topP, minP, repetitionPenalty, maxNewTokens, v,
                eosTokenIds, stopStrings);
    }

    public GenerationConfig withEosTokenIds(Set<Integer> v) {
        return new GenerationConfig(doSample, temperature, topK, topP, minP, repetitionPenalty, maxNewTokens, seed, v,
                stopStrings);
    }

    public GenerationConfig withStopStrings(List<String> v) {
        return new GenerationConfig(doSample, temperature, topK, topP, minP, repetitionPenalty, maxNewTokens, seed,
                eosTokenIds, v);
    }

    /** One line for logs, e.g. "sampling (temperature 0.6, top_p 0.9, top_k 50), up to 256 new tokens". */
    public String describe() {
        StringBuilder s = new StringBuilder(doSample ? "sampling (temperature " + number(temperature) : "greedy");
        if (doSample) {
            if (topK > 0) {
                s.append(", top_k ").append(topK);
            }
            if (topP < 1) {
                s.append(", top_p ").append(number(topP));
            }
            if (minP > 0) {
                s.append(", min_p ").append(number(minP));
            }
            s.append(')');
        }
        if (repetitionPenalty != 1) {
            s.append(", repetition_penalty ").append(number(repetitionPenalty));
        }
        s.append(", up to ").append(maxNewTokens).append(" new tokens");
        if (!eosTokenIds.isEmpty()) {
            s.append(", stops at token ").append(new TreeSet<>(eosTokenIds));
        }
        return s.toString();
    }

    private static String number(double v) {
        return String.format(Locale.ROOT, "%s", v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v));
    }
}
