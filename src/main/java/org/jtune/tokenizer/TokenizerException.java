package org.jtune.tokenizer;

/** Thrown when a tokenizer or chat-template file is malformed or uses a feature this package does not support. */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
