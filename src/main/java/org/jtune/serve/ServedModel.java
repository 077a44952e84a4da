package org.jtune.serve;

import org.jtune.generate.ChatPrompt;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.TextGenerator;
import org.jtune.tokenizer.Tokenizer;

/**
 * What the server serves: one model under one name, its tokenizer and chat template, and its generation settings,
 * which a request's fields override.
 *
 * @param chat null when the tokenizer ships no chat template (then only /v1/completions works)
 */
public record ServedModel(String name, TextGenerator model, Tokenizer tokenizer, ChatPrompt chat,
                          GenerationConfig defaults) {}
