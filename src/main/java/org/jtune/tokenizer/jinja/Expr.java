package org.jtune.tokenizer.jinja;

import java.util.List;

/** Expressions of a compiled template; each knows its source line for error messages. */
sealed interface Expr {
    int line();

    record Literal(int line, Object value) implements Expr {}

    record Name(int line, String name) implements Expr {}

    /** {@code obj.name}: an attribute first (a method), then an item. */
    record Attr(int line, Expr obj, String name) implements Expr {}

    /** {@code obj[key]}: an item first, then an attribute. */
    record Item(int line, Expr obj, Expr key) implements Expr {}

    record Slice(int line, Expr obj, Expr start, Expr stop, Expr step) implements Expr {}

    record Call(int line, Expr callee, Args args) implements Expr {}

    record Filter(int line, Expr value, String name, Args args) implements Expr {}

    record Test(int line, Expr value, String name, Args args, boolean negated) implements Expr {}

    record Unary(int line, String op, Expr operand) implements Expr {}

    record Binary(int line, String op, Expr left, Expr right) implements Expr {}

    /** {@code a < b <= c}: each comparison of a chain, joined by and. */
    record Compare(int line, Expr first, List<String> ops, List<Expr> rest) implements Expr {}

    /** {@code a if test else b}; without else, an undefined value. */
    record Conditional(int line, Expr test, Expr then, Expr otherwise) implements Expr {}

    /** A list literal, or a tuple (parentheses, or bare commas in set). */
    record ListLiteral(int line, List<Expr> items, boolean tuple) implements Expr {}

    record DictLiteral(int line, List<Expr> keys, List<Expr> values) implements Expr {}

    /** Positional and keyword arguments of a call, filter or test. */
    record Args(List<Expr> positional, List<String> names, List<Expr> named) {
        static final Args NONE = new Args(List.of(), List.of(), List.of());
    }
}
