package org.jtune.generate;

import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;

import java.util.List;

/**
 * A conversation as the prompt a chat model continues: rendered with the chat template, the assistant's generation
 * prompt added, then tokenized without adding special tokens (the template writes them), as transformers'
 * {@code apply_chat_template(..., add_generation_prompt=True)} does.
 */
public final class ChatPrompt {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;

    /** @param fallback the built-in template for a tokenizer that ships none; null to require the tokenizer's */
    public ChatPrompt(Tokenizer tokenizer, BuiltinChatTemplate fallback) {
        this.tokenizer = tokenizer;
        this.template = ChatTemplate.of(tokenizer, fallback);
    }

    public int[] encode(List<ChatMessage> messages) {
        return tokenizer.encodeIds(template.render(messages, true), false);
    }
}
