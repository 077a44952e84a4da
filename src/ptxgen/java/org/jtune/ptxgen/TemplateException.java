package org.jtune.ptxgen;

/** A template that cannot be read or rendered; the message names the template, the line and the cause. */
public final class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TemplateException(String message) {
        super(message);
    }

    static TemplateException at(String template, int line, String message) {
        return new TemplateException(template + ":" + line + ": " + message);
    }
}
