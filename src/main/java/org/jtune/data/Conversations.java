package org.jtune.data;

import java.util.List;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerException;

/** Prompt and completion given as message lists: rendered by the chat template, completion marked after the prompt. */
final class Conversations {
    private Conversations() {
    }

    /**
     * The prompt is rendered with the generation prompt (the assistant header), as TRL does; it must
     * begin the rendering of prompt + completion, which is tokenized without added special tokens.
     */
    static TokenizedExample promptCompletion(Tokenizer tokenizer, ChatTemplate template, JsonRecord record,
                                             List<ChatMessage> prompt, List<ChatMessage> completion) {
        try {
            String promptText = template.render(prompt, true);
            String full = template.render(SftEncoder.concat(prompt, completion), false);
            if (!full.startsWith(promptText)) {
                throw new BadRecordException(record.location(), "the chat template renders the prompt (with generation prompt)"
                        + " as text that does not begin the rendered prompt + completion, so the completion cannot be located");
            }
            return CompletionTokens.rendered(tokenizer, full, promptText.length());
        } catch (TokenizerException e) {
            throw new BadRecordException(record.location(), e.getMessage());
        }
    }
}
