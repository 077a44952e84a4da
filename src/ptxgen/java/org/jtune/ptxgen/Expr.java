package org.jtune.ptxgen;

import java.util.ArrayList;
import java.util.List;

/**
 * An expression of the template language: integers (64-bit), strings, booleans and lists, with C's operators
 * and precedence ({@code ?:}, {@code || && | ^ &}, comparisons, shifts, {@code + - * / %}, unary {@code - ! ~}),
 * list literals {@code [a, b]}, indexing {@code xs[i]} and the functions of {@link Builtins}. {@code +} joins
 * strings when either side is one.
 */
sealed interface Expr {

    Object eval(Scope scope);

    /** Parses a whole expression; trailing text is an error. */
    static Expr parse(String text) {
        Parser parser = new Parser(text);
        Expr expr = parser.conditional();
        parser.skipSpace();
        if (parser.pos < text.length()) {
            throw new IllegalArgumentException("unexpected '" + text.substring(parser.pos) + "' in expression '"
                    + text + "'");
        }
        return expr;
    }

    record Literal(Object value) implements Expr {
        @Override
        public Object eval(Scope scope) {
            return value;
        }
    }

    record Name(String name) implements Expr {
        @Override
        public Object eval(Scope scope) {
            return scope.get(name);
        }
    }

    record Unary(String op, Expr operand) implements Expr {
        @Override
        public Object eval(Scope scope) {
            Object value = operand.eval(scope);
            return switch (op) {
                case "-" -> -Values.integer(value, op);
                case "~" -> ~Values.integer(value, op);
                case "!" -> !Values.bool(value, op);
                default -> throw new IllegalStateException(op);
            };
        }
    }

    record Binary(String op, Expr left, Expr right) implements Expr {
        @Override
        public Object eval(Scope scope) {
            if (op.equals("&&")) {
                return Values.bool(left.eval(scope), op) && Values.bool(right.eval(scope), op);
            }
            if (op.equals("||")) {
                return Values.bool(left.eval(scope), op) || Values.bool(right.eval(scope), op);
            }
            Object a = left.eval(scope);
            Object b = right.eval(scope);
            switch (op) {
                case "==":
                    return a.equals(b);
                case "!=":
                    return !a.equals(b);
                case "+":
                    if (a instanceof String || b instanceof String) {
                        return Values.text(a) + Values.text(b);
                    }
                    break;
                default:
                    break;
            }
            long x = Values.integer(a, op);
            long y = Values.integer(b, op);
            return switch (op) {
                case "+" -> x + y;
                case "-" -> x - y;
                case "*" -> x * y;
                case "/" -> {
                    if (y == 0) {
                        throw new IllegalArgumentException("division by zero");
                    }
                    yield Math.floorDiv(x, y);
                }
                case "%" -> {
                    if (y == 0) {
                        throw new IllegalArgumentException("remainder of a division by zero");
                    }
                    yield Math.floorMod(x, y);
                }
                case "<<" -> x << y;
                case ">>" -> x >> y;
                case "&" -> x & y;
                case "|" -> x | y;
                case "^" -> x ^ y;
                case "<" -> x < y;
                case "<=" -> x <= y;
                case ">" -> x > y;
                case ">=" -> x >= y;
                default -> throw new IllegalStateException(op);
            };
        }
    }

    record Conditional(Expr test, Expr then, Expr otherwise) implements Expr {
        @Override
        public Object eval(Scope scope) {
            return Values.bool(test.eval(scope), "?:") ? then.eval(scope) : otherwise.eval(scope);
        }
    }

    record Call(String function, List<Expr> args) implements Expr {
        @Override
        public Object eval(Scope scope) {
            List<Object> values = new ArrayList<>(args.size());
            for (Expr arg : args) {
                values.add(arg.eval(scope));
            }
            return Builtins.call(function, values);
        }
    }

    record ListOf(List<Expr> items) implements Expr {
        @Override
        public Object eval(Scope scope) {
            List<Object> values = new ArrayList<>(items.size());
            for (Expr item : items) {
                values.add(item.eval(scope));
            }
            return List.copyOf(values);
        }
    }

    record Index(Expr target, Expr index) implements Expr {
        @Override
        public Object eval(Scope scope) {
            List<?> list = Values.list(target.eval(scope), "[]");
            long i = Values.integer(index.eval(scope), "[]");
            if (i < 0 || i >= list.size()) {
                throw new IllegalArgumentException("index " + i + " outside a list of " + list.size());
            }
            return list.get((int) i);
        }
    }

    /** Recursive descent over the C precedence levels, lowest first. */
    final class Parser {
        private static final String[][] LEVELS = {
            {"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<=", ">=", "<", ">"}, {"<<", ">>"}, {"+", "-"},
            {"*", "/", "%"},
        };

        private final String text;
        private int pos;

        Parser(String text) {
            this.text = text;
        }

        Expr conditional() {
            Expr test = binary(0);
            if (accept("?")) {
                Expr then = conditional();
                expect(":");
                return new Conditional(test, then, conditional());
            }
            return test;
        }

        private Expr binary(int level) {
            if (level == LEVELS.length) {
                return unary();
            }
            Expr left = binary(level + 1);
            while (true) {
                String op = operator(LEVELS[level]);
                if (op == null) {
                    return left;
                }
                left = new Binary(op, left, binary(level + 1));
            }
        }

        /** The operator of this level at the cursor, not mistaking {@code <} for {@code <<} or {@code &} for {@code &&}. */
        private String operator(String[] ops) {
            skipSpace();
            for (String op : ops) {
                if (text.startsWith(op, pos)) {
                    String longer = text.length() > pos + op.length() ? text.substring(pos, pos + op.length() + 1) : "";
                    boolean partOfLonger = op.length() == 1 && List.of("<<", ">>", "<=", ">=", "&&", "||", "==", "!=")
                            .contains(longer);
                    if (!partOfLonger) {
                        pos += op.length();
                        return op;
                    }
                }
            }
            return null;
        }

        private Expr unary() {
            skipSpace();
            for (String op : new String[] {"-", "!", "~"}) {
                if (text.startsWith(op, pos) && !text.startsWith("!=", pos)) {
                    pos++;
                    return new Unary(op, unary());
                }
            }
            return postfix(primary());
        }

        private Expr postfix(Expr expr) {
            while (accept("[")) {
                Expr index = conditional();
                expect("]");
                expr = new Index(expr, index);
            }
            return expr;
        }

        private Expr primary() {
            skipSpace();
            if (pos >= text.length()) {
                throw error("expression ends early");
            }
            char c = text.charAt(pos);
            if (accept("(")) {
                Expr inner = conditional();
                expect(")");
                return inner;
            }
            if (accept("[")) {
                List<Expr> items = arguments("]");
                return new ListOf(items);
            }
            if (c == '"') {
                return new Literal(string());
            }
            if (Character.isDigit(c)) {
                return new Literal(number());
            }
            if (Character.isLetter(c) || c == '_') {
                int start = pos;
                while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '_')) {
                    pos++;
                }
                String name = text.substring(start, pos);
                if (name.equals("true") || name.equals("false")) {
                    return new Literal(Boolean.valueOf(name));
                }
                if (accept("(")) {
                    return new Call(name, arguments(")"));
                }
                return new Name(name);
            }
            throw error("unexpected '" + c + "'");
        }

        private List<Expr> arguments(String close) {
            List<Expr> items = new ArrayList<>();
            if (accept(close)) {
                return items;
            }
            do {
                items.add(conditional());
            } while (accept(","));
            expect(close);
            return items;
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            pos++;
            while (pos < text.length() && text.charAt(pos) != '"') {
                char c = text.charAt(pos++);
                if (c == '\\' && pos < text.length()) {
                    c = text.charAt(pos++);
                }
                out.append(c);
            }
            if (pos >= text.length()) {
                throw error("string not closed");
            }
            pos++;
            return out.toString();
        }

        private Long number() {
            int start = pos;
            int radix = 10;
            if (text.startsWith("0x", pos) || text.startsWith("0X", pos)) {
                pos += 2;
                start = pos;
                radix = 16;
            }
            while (pos < text.length() && Character.digit(text.charAt(pos), radix) >= 0) {
                pos++;
            }
            return Long.parseLong(text.substring(start, pos), radix);
        }

        void skipSpace() {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
                pos++;
            }
        }

        private boolean accept(String token) {
            skipSpace();
            if (text.startsWith(token, pos)) {
                pos += token.length();
                return true;
            }
            return false;
        }

        private void expect(String token) {
            if (!accept(token)) {
                throw error("expected '" + token + "'");
            }
        }

        private IllegalArgumentException error(String message) {
            return new IllegalArgumentException(message + " at column " + (pos + 1) + " of expression '" + text + "'");
        }
    }
}
