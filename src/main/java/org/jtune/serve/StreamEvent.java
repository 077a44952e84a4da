package org.jtune.serve;

import org.jtune.generate.GenerationResult;

/** What the decode thread hands to a streaming request's thread: a piece of text, an end, or a failure. */
record StreamEvent(int choice, String text, GenerationResult result, Throwable error) {
    static StreamEvent text(int choice, String text) {
        return new StreamEvent(choice, text, null, null);
    }

    static StreamEvent done(int choice, GenerationResult result) {
        return new StreamEvent(choice, null, result, null);
    }

    static StreamEvent failed(int choice, Throwable error) {
        return new StreamEvent(choice, null, null, error);
    }
}
