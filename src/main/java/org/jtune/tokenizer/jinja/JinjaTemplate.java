package org.jtune.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * A Jinja template compiled once and rendered many times, in a sandbox: the language subset
 * Hugging Face chat templates are written in, values that are plain data (no method of a Java
 * object can be reached), no {@code include}/{@code import}, and a {@link RenderBudget} on every
 * render. Whitespace follows transformers: trim_blocks and lstrip_blocks on, and one trailing
 * newline of the template dropped.
 */
public final class JinjaTemplate {
    private final List<Node> body;

    private JinjaTemplate(List<Node> body) {
        this.body = body;
    }

    /** Compiles a template; a syntax error or a refused statement is a {@link JinjaException}. */
    public static JinjaTemplate compile(String source) {
        String s = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        return new JinjaTemplate(Parser.parse(s));
    }

    /**
     * Renders with the given variables: strings, numbers, booleans, null, and lists and maps of them.
     * Errors of the template (and raise_exception) are {@link JinjaException}s; a budget exceeded is a
     * {@link RenderBudgetExceededException}.
     */
    public String render(Map<String, ?> variables, RenderBudget budget) {
        @SuppressWarnings("unchecked")
        Map<String, Object> vars = (Map<String, Object>) variables;
        return new Renderer(budget, vars).render(body);
    }
}
