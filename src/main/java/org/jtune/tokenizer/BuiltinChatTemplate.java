package org.jtune.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Chat templates of well-known model families, as published with their models, for tokenizers
 * that ship none: Llama 2 chat ([INST] with &lt;&lt;SYS&gt;&gt;), Llama 3 Instruct, Mistral Instruct, ChatML.
 */
public enum BuiltinChatTemplate {
    LLAMA2("llama2.jinja"),
    LLAMA3("llama3.jinja"),
    MISTRAL("mistral.jinja"),
    CHATML("chatml.jinja");

    private final String resource;

    BuiltinChatTemplate(String resource) {
        this.resource = resource;
    }

    /** The Jinja source of the template. */
    public String source() {
        try (InputStream in = BuiltinChatTemplate.class.getResourceAsStream("templates/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("chat template resource missing from the jar: templates/" + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
