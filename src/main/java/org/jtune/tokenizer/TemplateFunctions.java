package org.jtune.tokenizer;

/** Functions Hugging Face makes available to chat templates. */
public final class TemplateFunctions {
    private TemplateFunctions() {
    }

    /** Thrown by a template through raise_exception(message). */
    static final class RaisedException extends RuntimeException {
        RaisedException(String message) {
            super(message);
        }
    }

    /** raise_exception(message): stops rendering with the template's message. */
    public static String raiseException(String message) {
        throw new RaisedException(message);
    }
}
