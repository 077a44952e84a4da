package org.jtune.tokenizer.jinja;

/** The template itself stopped rendering through {@code raise_exception(message)}. */
public final class TemplateRaisedException extends JinjaException {
    public TemplateRaisedException(String message, int line) {
        super(message, line);
    }
}
