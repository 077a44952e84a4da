package org.jtune.tokenizer.jinja;

import java.util.List;

/** Statements of a compiled template. */
sealed interface Node {
    record Text(String text) implements Node {}

    record Output(Expr value) implements Node {}

    /** if / elif ... / else: the first branch whose test is true runs. */
    record If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) implements Node {}

    record For(int line, List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise)
            implements Node {}

    /** {@code set a = v}, {@code set a, b = v}, or {@code set ns.attr = v} (attribute non-null). */
    record Set(int line, List<String> targets, String attribute, Expr value) implements Node {}

    /** {@code set name %}...{% endset}: the rendered body, passed through filters. */
    record SetBlock(int line, String target, List<Node> body, List<Expr.Filter> filters) implements Node {}

    record Macro(int line, String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

    /** {@code filter name %}...{% endfilter}: the rendered body through a filter. */
    record FilterBlock(int line, Expr.Filter filter, List<Node> body) implements Node {}

    /** A block rendered as its body: {@code generation} (Hugging Face's assistant marker) and {@code with}. */
    record Scoped(List<String> names, List<Expr> values, List<Node> body) implements Node {}

    record Break(int line) implements Node {}

    record Continue(int line) implements Node {}
}
