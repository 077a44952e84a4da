package org.jtune.tokenizer.jinja;

/** Rendering went past one of the limits of its {@link RenderBudget}. */
public final class RenderBudgetExceededException extends JinjaException {
    public RenderBudgetExceededException(String message, int line) {
        super(message, line);
    }
}
