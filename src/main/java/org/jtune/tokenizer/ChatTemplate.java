package org.jtune.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a Hugging Face chat template (Jinja) for a conversation, as transformers'
 * apply_chat_template does: trim_blocks and lstrip_blocks on, {@code raise_exception} available,
 * the special tokens and {@code add_generation_prompt} in scope. Errors in the template, and
 * exceptions it raises, are thrown as {@link TokenizerException}.
 */
public final class ChatTemplate {
    /** Jinjava with the settings that make it follow Jinja2: whitespace control on expressions, Python precedence. */
    private static final Jinjava JINJAVA = createEngine();

    private final String source;
    private final Map<String, String> specialTokens;

    /** A template with the special tokens it may refer to (bos_token, eos_token, ...; null values are left out). */
    public ChatTemplate(String source, Map<String, String> specialTokens) {
        // Jinja drops one newline at the very end of a template (keep_trailing_newline=False).
        this.source = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        this.specialTokens = new HashMap<>();
        specialTokens.forEach((k, v) -> {
            if (v != null) {
                this.specialTokens.put(k, v);
            }
        });
    }

    /** The tokenizer's own template, or {@code fallback} when its tokenizer_config.json has none. */
    public static ChatTemplate of(Tokenizer tokenizer, BuiltinChatTemplate fallback) {
        String shipped = tokenizer.config().chatTemplate();
        if (shipped == null && fallback == null) {
            throw new TokenizerException(tokenizer + " ships no chat template and no built-in one was named");
        }
        return new ChatTemplate(shipped != null ? shipped : fallback.source(), specialTokens(tokenizer.config()));
    }

    /** A built-in template with the special tokens named in a tokenizer's configuration. */
    public static ChatTemplate of(BuiltinChatTemplate template, TokenizerConfig config) {
        return new ChatTemplate(template.source(), specialTokens(config));
    }

    private static Map<String, String> specialTokens(TokenizerConfig c) {
        Map<String, String> m = new HashMap<>();
        m.put("bos_token", c.bosToken());
        m.put("eos_token", c.eosToken());
        m.put("unk_token", c.unkToken());
        m.put("pad_token", c.padToken());
        return m;
    }

    private static Jinjava createEngine() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .withAllowAdjacentTextNodes(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                TemplateFunctions.class, "raiseException", String.class));
        return jinjava;
    }

    /** The conversation as the template writes it. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("cannot render an empty conversation");
        }
        Map<String, Object> context = new HashMap<>(specialTokens);
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new HashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            list.add(map);
        }
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = JINJAVA.renderForResult(source, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw asException(error);
            }
        }
        return result.getOutput();
    }

    private static TokenizerException asException(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.RaisedException raised) {
                return new TokenizerException("chat template raised an exception: " + raised.getMessage());
            }
        }
        String where = error.getLineno() > 0 ? " (line " + error.getLineno() + ")" : "";
        return new TokenizerException("chat template error" + where + ": " + error.getMessage(), error.getException());
    }

    /**
     * Renders and finds the assistant turns. Turn i spans from the end of the conversation up to it
     * (rendered with a generation prompt) to the end of the conversation through it; this needs a
     * template whose output for a shorter conversation is a prefix of the output for a longer one,
     * which is checked.
     */
    public RenderedChat renderWithSpans(List<ChatMessage> messages, boolean addGenerationPrompt) {
        String full = render(messages, addGenerationPrompt);
        List<RenderedChat.Span> spans = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) {
                continue;
            }
            int start = i == 0 ? 0 : prefixLength(full, messages.subList(0, i), true);
            int end = i == messages.size() - 1 && !addGenerationPrompt ? full.length()
                    : prefixLength(full, messages.subList(0, i + 1), false);
            spans.add(new RenderedChat.Span(start, end));
        }
        return new RenderedChat(full, spans);
    }

    private int prefixLength(String full, List<ChatMessage> head, boolean generationPrompt) {
        String prefix = render(head, generationPrompt);
        if (!full.startsWith(prefix)) {
            throw new TokenizerException("chat template renders the first " + head.size()
                    + " messages as text that does not begin the whole conversation, so assistant turns cannot be located");
        }
        return prefix.length();
    }

    public String source() {
        return source;
    }
}
