package org.jtune.tokenizer.jinja;

/**
 * A template that cannot be compiled or rendered: a syntax error, an error raised while rendering
 * (an undefined value used, a type error, {@code raise_exception}), or a render budget exceeded.
 * The message says what; {@link #line()} says where (0 when unknown).
 */
public class JinjaException extends RuntimeException {
    private final int line;

    public JinjaException(String message, int line) {
        super(message);
        this.line = line;
    }

    /** The 1-based template line, or 0. */
    public int line() {
        return line;
    }

    /** The message with the line, when known. */
    public String describe() {
        return (line > 0 ? "line " + line + ": " : "") + getMessage();
    }
}
