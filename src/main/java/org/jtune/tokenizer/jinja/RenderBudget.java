package org.jtune.tokenizer.jinja;

import java.time.Duration;

/**
 * Limits on one render, so that a template from a downloaded model folder cannot take the machine
 * down: characters of output, characters of any one string value, items of any one list, evaluation
 * steps (nodes run, loop iterations, calls), nesting depth of macro calls, and wall time.
 */
public record RenderBudget(long maxOutputChars, long maxStringChars, int maxItems, long maxSteps, int maxCallDepth,
                           Duration maxTime) {

    /**
     * Generous for chat data (a conversation of tens of megabytes renders), far below what hurts a
     * machine. The item limit is Jinja's own sandbox range limit.
     */
    public static final RenderBudget DEFAULT = new RenderBudget(64L << 20, 64L << 20, 100_000, 5_000_000L, 64,
            Duration.ofSeconds(10));

    public RenderBudget {
        if (maxOutputChars <= 0 || maxStringChars <= 0 || maxItems <= 0 || maxSteps <= 0 || maxCallDepth <= 0
                || maxTime.isNegative() || maxTime.isZero()) {
            throw new IllegalArgumentException("render budget limits must be positive: " + this);
        }
    }

    public RenderBudget withMaxTime(Duration d) {
        return new RenderBudget(maxOutputChars, maxStringChars, maxItems, maxSteps, maxCallDepth, d);
    }

    public RenderBudget withMaxSteps(long steps) {
        return new RenderBudget(maxOutputChars, maxStringChars, maxItems, steps, maxCallDepth, maxTime);
    }

    public RenderBudget withMaxChars(long chars) {
        return new RenderBudget(chars, chars, maxItems, maxSteps, maxCallDepth, maxTime);
    }
}
