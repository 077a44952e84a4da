package org.jtune.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jtune.tokenizer.jinja.JinjaException;
import org.jtune.tokenizer.jinja.JinjaTemplate;
import org.jtune.tokenizer.jinja.RenderBudget;
import org.jtune.tokenizer.jinja.RenderBudgetExceededException;
import org.jtune.tokenizer.jinja.TemplateRaisedException;

/**
 * Renders a Hugging Face chat template for a conversation, as transformers' apply_chat_template
 * does: trim_blocks and lstrip_blocks on, {@code raise_exception} and {@code strftime_now}
 * available, the special tokens and {@code add_generation_prompt} in scope. Templates come from
 * downloaded model folders, so they are compiled once into a sandboxed interpreter
 * ({@link JinjaTemplate}): no include or import, no method of a Java object, and a
 * {@link RenderBudget} on each render. Every error, raise_exception included, is a
 * {@link TokenizerException} naming the template.
 */
public final class ChatTemplate {
    private final String source;
    private final String origin;
    private final JinjaTemplate compiled;
    private final Map<String, String> specialTokens;
    private final RenderBudget budget;

    /** A template with the special tokens it may refer to (bos_token, eos_token, ...; null values are left out). */
    public ChatTemplate(String source, Map<String, String> specialTokens) {
        this(source, specialTokens, "chat template", RenderBudget.DEFAULT);
    }

    /**
     * A template compiled now; {@code origin} names it in messages (its file, or the built-in name).
     * A syntax error is a {@link TokenizerException}.
     */
    public ChatTemplate(String source, Map<String, String> specialTokens, String origin, RenderBudget budget) {
        this.source = source;
        this.origin = origin;
        this.budget = budget;
        this.specialTokens = new HashMap<>();
        specialTokens.forEach((k, v) -> {
            if (v != null) {
                this.specialTokens.put(k, v);
            }
        });
        try {
            this.compiled = JinjaTemplate.compile(source);
        } catch (JinjaException e) {
            throw new TokenizerException("chat template error in " + origin + ", " + e.describe(), e);
        }
    }

    /** The tokenizer's own template, or {@code fallback} when its tokenizer_config.json has none. */
    public static ChatTemplate of(Tokenizer tokenizer, BuiltinChatTemplate fallback) {
        String shipped = tokenizer.config().chatTemplate();
        if (shipped == null && fallback == null) {
            throw new TokenizerException(tokenizer + " ships no chat template and no built-in one was named");
        }
        if (shipped == null) {
            return of(fallback, tokenizer.config());
        }
        return new ChatTemplate(shipped, specialTokens(tokenizer.config()),
                "the chat template of tokenizer_config.json beside " + tokenizer.source(), RenderBudget.DEFAULT);
    }

    /** A built-in template with the special tokens named in a tokenizer's configuration. */
    public static ChatTemplate of(BuiltinChatTemplate template, TokenizerConfig config) {
        return new ChatTemplate(template.source(), specialTokens(config),
                "the built-in " + template.name().toLowerCase() + " chat template", RenderBudget.DEFAULT);
    }

    /** The same template rendered under other limits. */
    public ChatTemplate withBudget(RenderBudget b) {
        return new ChatTemplate(source, specialTokens, origin, b);
    }

    private static Map<String, String> specialTokens(TokenizerConfig c) {
        Map<String, String> m = new HashMap<>();
        m.put("bos_token", c.bosToken());
        m.put("eos_token", c.eosToken());
        m.put("unk_token", c.unkToken());
        m.put("pad_token", c.padToken());
        return m;
    }

    /** The conversation as the template writes it. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, ChatOptions.NONE);
    }

    /** The conversation as the template writes it, with tool definitions and extra variables. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, ChatOptions options) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("cannot render an empty conversation");
        }
        Map<String, Object> context = new HashMap<>(specialTokens);
        context.putAll(options.variables());
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new HashMap<>(4);
            map.put("role", m.role());
            map.put("content", m.content());
            if (!m.toolCalls().isEmpty()) {
                map.put("tool_calls", m.toolCalls().stream().map(ToolCall::templateValue).toList());
            }
            list.add(map);
        }
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        // As apply_chat_template: tools and documents are None when not given, not undefined.
        context.put("tools", options.tools());
        context.put("documents", null);
        try {
            return compiled.render(context, budget);
        } catch (TemplateRaisedException e) {
            throw new TokenizerException("chat template raised an exception: " + e.getMessage()
                    + " (" + origin + ", line " + e.line() + ")", e);
        } catch (RenderBudgetExceededException e) {
            throw new TokenizerException(origin + " exceeded its render budget at " + e.describe(), e);
        } catch (JinjaException e) {
            throw new TokenizerException("chat template error in " + origin + ", " + e.describe(), e);
        }
    }

    /**
     * Renders and finds the assistant turns. Turn i spans from the end of the conversation up to it
     * (rendered with a generation prompt) to the end of the conversation through it; this needs a
     * template whose output for a shorter conversation is a prefix of the output for a longer one,
     * which is checked.
     */
    public RenderedChat renderWithSpans(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderWithSpans(messages, addGenerationPrompt, ChatOptions.NONE);
    }

    /** {@link #renderWithSpans(List, boolean)} with tool definitions and extra variables. */
    public RenderedChat renderWithSpans(List<ChatMessage> messages, boolean addGenerationPrompt, ChatOptions options) {
        String full = render(messages, addGenerationPrompt, options);
        List<RenderedChat.Span> spans = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) {
                continue;
            }
            int start = i == 0 ? 0 : prefixLength(full, messages.subList(0, i), true, options);
            int end = i == messages.size() - 1 && !addGenerationPrompt ? full.length()
                    : prefixLength(full, messages.subList(0, i + 1), false, options);
            spans.add(new RenderedChat.Span(start, end));
        }
        return new RenderedChat(full, spans);
    }

    private int prefixLength(String full, List<ChatMessage> head, boolean generationPrompt, ChatOptions options) {
        String prefix = render(head, generationPrompt, options);
        if (!full.startsWith(prefix)) {
            throw new TokenizerException("chat template renders the first " + head.size()
                    + " messages as text that does not begin the whole conversation, so assistant turns cannot be located");
        }
        return prefix.length();
    }

    public String source() {
        return source;
    }

    /** Where the template came from, as messages name it. */
    public String origin() {
        return origin;
    }
}
