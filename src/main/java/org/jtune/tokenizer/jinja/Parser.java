package org.jtune.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jtune.tokenizer.jinja.Token.Kind;

/**
 * Parses tokens into statements and expressions with Jinja's grammar and precedence
 * (or, and, not, comparisons, + -, ~, * / // %, **, unary, postfix, filters and tests).
 * Statements that reach outside the template ({@code include}, {@code import}, {@code extends},
 * {@code from}) are refused: a chat template renders a conversation, and nothing else.
 */
final class Parser {
    private static final Set<String> REFUSED = Set.of("include", "import", "from", "extends", "block");
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", ">", "<=", ">=");

    /** Deeper nesting than this is refused rather than risking the stack: real templates nest a few levels. */
    private static final int MAX_DEPTH = 100;

    private final List<Token> tokens;
    private int at;
    private int depth;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        List<Node> body = p.body(Set.of());
        if (p.peek().kind() != Kind.EOF) {
            Token t = p.tokens.get(p.at + 1);
            throw new JinjaException("unexpected '{% " + t.text() + " %}' with no block open", t.line());
        }
        return body;
    }

    private Token peek() {
        return tokens.get(at);
    }

    private Token next() {
        return tokens.get(at++);
    }

    private JinjaException error(String what, Token t) {
        return new JinjaException(what + ", found " + t.describe(), t.line());
    }

    private Token expect(Kind kind, String text) {
        Token t = next();
        if (t.kind() != kind || (text != null && !t.text().equals(text))) {
            throw error("expected " + (text != null ? "'" + text + "'" : kind.name().toLowerCase()), t);
        }
        return t;
    }

    private String name() {
        return expect(Kind.NAME, null).text();
    }

    private boolean skipOp(String op) {
        if (peek().isOp(op)) {
            at++;
            return true;
        }
        return false;
    }

    private boolean skipName(String name) {
        if (peek().isName(name)) {
            at++;
            return true;
        }
        return false;
    }

    /** Statements up to a block tag whose keyword is in {@code ends} (left unconsumed) or the end. */
    private List<Node> body(Set<String> ends) {
        List<Node> out = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case EOF -> {
                    if (!ends.isEmpty()) {
                        throw new JinjaException("missing '{% " + String.join(" %}' or '{% ", ends)
                                + " %}' before the end of the template", t.line());
                    }
                    return out;
                }
                case TEXT -> {
                    at++;
                    out.add(new Node.Text(t.text()));
                }
                case VAR_BEGIN -> {
                    at++;
                    Expr e = expression();
                    expect(Kind.VAR_END, null);
                    out.add(new Node.Output(e));
                }
                case BLOCK_BEGIN -> {
                    Token keyword = tokens.get(at + 1);
                    if (keyword.kind() == Kind.NAME && ends.contains(keyword.text())) {
                        return out;
                    }
                    at++;
                    out.add(statement());
                }
                default -> throw error("unexpected token", t);
            }
        }
    }

    /** Consumes {@code {% keyword %}} that closes or continues a block. */
    private String blockKeyword() {
        expect(Kind.BLOCK_BEGIN, null);
        return name();
    }

    private void endTag() {
        expect(Kind.BLOCK_END, null);
    }

    private Node statement() {
        enter(peek());
        try {
            return statementAtDepth();
        } finally {
            depth--;
        }
    }

    private void enter(Token t) {
        if (++depth > MAX_DEPTH) {
            throw new JinjaException("blocks or expressions nested more than " + MAX_DEPTH + " deep", t.line());
        }
    }

    private Node statementAtDepth() {
        Token keyword = expect(Kind.NAME, null);
        int line = keyword.line();
        String k = keyword.text();
        if (REFUSED.contains(k)) {
            throw new JinjaException("'" + k + "' is not allowed in a chat template: it may only render the conversation"
                    + " it is given", line);
        }
        return switch (k) {
            case "if" -> ifStatement();
            case "for" -> forStatement(line);
            case "set" -> setStatement(line);
            case "macro" -> macro(line);
            case "filter" -> filterBlock(line);
            case "generation" -> {
                endTag();
                List<Node> body = body(Set.of("endgeneration"));
                blockKeyword();
                endTag();
                yield new Node.Scoped(List.of(), List.of(), body);
            }
            case "with" -> with();
            case "break" -> {
                endTag();
                yield new Node.Break(line);
            }
            case "continue" -> {
                endTag();
                yield new Node.Continue(line);
            }
            default -> throw new JinjaException("unknown or unsupported statement '{% " + k + " %}'", line);
        };
    }

    private Node ifStatement() {
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> otherwise = List.of();
        tests.add(expression());
        endTag();
        while (true) {
            bodies.add(body(Set.of("elif", "else", "endif")));
            String k = blockKeyword();
            if (k.equals("elif")) {
                tests.add(expression());
                endTag();
            } else if (k.equals("else")) {
                endTag();
                otherwise = body(Set.of("endif"));
                blockKeyword();
                endTag();
                break;
            } else {
                endTag();
                break;
            }
        }
        return new Node.If(tests, bodies, otherwise);
    }

    private Node forStatement(int line) {
        List<String> targets = targets();
        expect(Kind.NAME, "in");
        Expr iterable = ternaryFree();
        Expr filter = null;
        if (skipName("if")) {
            filter = ternaryFree();
        }
        if (peek().isName("recursive")) {
            throw new JinjaException("recursive loops are not supported in chat templates", line);
        }
        endTag();
        List<Node> body = body(Set.of("else", "endfor"));
        List<Node> otherwise = List.of();
        if (blockKeyword().equals("else")) {
            endTag();
            otherwise = body(Set.of("endfor"));
            blockKeyword();
        }
        endTag();
        return new Node.For(line, targets, iterable, filter, body, otherwise);
    }

    /** Loop or assignment targets: {@code a}, {@code a, b}, {@code (a, b)}. */
    private List<String> targets() {
        boolean paren = skipOp("(");
        List<String> names = new ArrayList<>();
        names.add(name());
        while (skipOp(",")) {
            if (peek().kind() != Kind.NAME) {
                break;
            }
            names.add(name());
        }
        if (paren) {
            expect(Kind.OP, ")");
        }
        return names;
    }

    private Node setStatement(int line) {
        if (peek().kind() == Kind.NAME && tokens.get(at + 1).isOp(".")) {
            String ns = name();
            at++;
            String attribute = name();
            expect(Kind.OP, "=");
            Expr value = expression();
            endTag();
            return new Node.Set(line, List.of(ns), attribute, value);
        }
        List<String> targets = targets();
        if (skipOp("=")) {
            Expr value = expressionOrTuple();
            endTag();
            return new Node.Set(line, targets, null, value);
        }
        if (targets.size() != 1) {
            throw error("expected '='", peek());
        }
        List<Expr.Filter> filters = new ArrayList<>();
        while (skipOp("|")) {
            filters.add(filterCall(null));
        }
        endTag();
        List<Node> body = body(Set.of("endset"));
        blockKeyword();
        endTag();
        return new Node.SetBlock(line, targets.get(0), body, filters);
    }

    private Node macro(int line) {
        String name = name();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        expect(Kind.OP, "(");
        while (!skipOp(")")) {
            if (!params.isEmpty()) {
                expect(Kind.OP, ",");
                if (skipOp(")")) {
                    break;
                }
            }
            params.add(name());
            defaults.add(skipOp("=") ? expression() : null);
        }
        endTag();
        List<Node> body = body(Set.of("endmacro"));
        blockKeyword();
        if (peek().kind() == Kind.NAME) {
            at++;
        }
        endTag();
        return new Node.Macro(line, name, params, defaults, body);
    }

    private Node filterBlock(int line) {
        Expr.Filter filter = filterCall(null);
        endTag();
        List<Node> body = body(Set.of("endfilter"));
        blockKeyword();
        endTag();
        return new Node.FilterBlock(line, filter, body);
    }

    private Node with() {
        List<String> names = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (peek().kind() != Kind.BLOCK_END) {
            if (!names.isEmpty()) {
                expect(Kind.OP, ",");
            }
            names.add(name());
            expect(Kind.OP, "=");
            values.add(expression());
        }
        endTag();
        List<Node> body = body(Set.of("endwith"));
        blockKeyword();
        endTag();
        return new Node.Scoped(names, values, body);
    }

    // ---- expressions

    /** An expression, or several separated by commas (a tuple, kept as a list). */
    private Expr expressionOrTuple() {
        Expr first = expression();
        if (!peek().isOp(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (skipOp(",")) {
            items.add(expression());
        }
        return new Expr.ListLiteral(first.line(), items, true);
    }

    Expr expression() {
        enter(peek());
        try {
            return conditional();
        } finally {
            depth--;
        }
    }

    private Expr conditional() {
        Expr e = or();
        if (peek().isName("if")) {
            int line = next().line();
            Expr test = or();
            Expr otherwise = skipName("else") ? expression() : null;
            return new Expr.Conditional(line, test, e, otherwise);
        }
        return e;
    }

    /** A for loop's iterable and filter: no conditional, since its 'if' belongs to the loop. */
    private Expr ternaryFree() {
        return or();
    }

    private Expr or() {
        Expr left = and();
        while (peek().isName("or")) {
            int line = next().line();
            left = new Expr.Binary(line, "or", left, and());
        }
        return left;
    }

    private Expr and() {
        Expr left = not();
        while (peek().isName("and")) {
            int line = next().line();
            left = new Expr.Binary(line, "and", left, not());
        }
        return left;
    }

    private Expr not() {
        if (peek().isName("not")) {
            Token t = next();
            enter(t);
            Expr operand = not();
            depth--;
            return new Expr.Unary(t.line(), "not", operand);
        }
        return compare();
    }

    private Expr compare() {
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && COMPARE.contains(t.text())) {
                at++;
                ops.add(t.text());
            } else if (t.isName("in")) {
                at++;
                ops.add("in");
            } else if (t.isName("not") && tokens.get(at + 1).isName("in")) {
                at += 2;
                ops.add("not in");
            } else {
                break;
            }
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(first.line(), first, ops, rest);
    }

    private Expr math1() {
        Expr left = concat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token op = next();
            left = new Expr.Binary(op.line(), op.text(), left, concat());
        }
        return left;
    }

    private Expr concat() {
        Expr left = math2();
        while (peek().isOp("~")) {
            Token op = next();
            left = new Expr.Binary(op.line(), "~", left, math2());
        }
        return left;
    }

    private Expr math2() {
        Expr left = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token op = next();
            left = new Expr.Binary(op.line(), op.text(), left, pow());
        }
        return left;
    }

    private Expr pow() {
        Expr left = unary(true);
        while (peek().isOp("**")) {
            Token op = next();
            left = new Expr.Binary(op.line(), "**", left, unary(true));
        }
        return left;
    }

    private Expr unary(boolean withFilters) {
        Token t = peek();
        Expr e;
        if (t.isOp("-") || t.isOp("+")) {
            at++;
            enter(t);
            e = new Expr.Unary(t.line(), t.text(), unary(false));
            depth--;
        } else {
            e = postfix(primary());
        }
        return withFilters ? filtersAndTests(e) : e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Expr.Literal(t.line(), Boolean.TRUE);
                    case "false", "False" -> new Expr.Literal(t.line(), Boolean.FALSE);
                    case "none", "None" -> new Expr.Literal(t.line(), null);
                    default -> new Expr.Name(t.line(), t.text());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder((String) t.value());
                while (peek().kind() == Kind.STRING) {
                    sb.append((String) next().value());
                }
                return new Expr.Literal(t.line(), sb.toString());
            }
            case INT, FLOAT -> {
                return new Expr.Literal(t.line(), t.value());
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        if (skipOp(")")) {
                            return new Expr.ListLiteral(t.line(), List.of(), true);
                        }
                        Expr e = expression();
                        if (peek().isOp(",")) {
                            List<Expr> items = new ArrayList<>(List.of(e));
                            while (skipOp(",") && !peek().isOp(")")) {
                                items.add(expression());
                            }
                            e = new Expr.ListLiteral(t.line(), items, true);
                        }
                        expect(Kind.OP, ")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!skipOp("]")) {
                            if (!items.isEmpty()) {
                                expect(Kind.OP, ",");
                                if (skipOp("]")) {
                                    break;
                                }
                            }
                            items.add(expression());
                        }
                        return new Expr.ListLiteral(t.line(), items, false);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!skipOp("}")) {
                            if (!keys.isEmpty()) {
                                expect(Kind.OP, ",");
                                if (skipOp("}")) {
                                    break;
                                }
                            }
                            keys.add(expression());
                            expect(Kind.OP, ":");
                            values.add(expression());
                        }
                        return new Expr.DictLiteral(t.line(), keys, values);
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        throw error("expected a value", t);
    }

    private Expr postfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp(".")) {
                at++;
                Token n = next();
                if (n.kind() == Kind.NAME) {
                    e = new Expr.Attr(n.line(), e, n.text());
                } else if (n.kind() == Kind.INT) {
                    e = new Expr.Item(n.line(), e, new Expr.Literal(n.line(), n.value()));
                } else {
                    throw error("expected an attribute name after '.'", n);
                }
            } else if (t.isOp("[")) {
                at++;
                e = subscript(e, t.line());
            } else if (t.isOp("(")) {
                at++;
                e = new Expr.Call(t.line(), e, args());
            } else {
                return e;
            }
        }
    }

    private Expr subscript(Expr obj, int line) {
        Expr[] parts = new Expr[3];
        int part = 0;
        boolean slice = false;
        while (!skipOp("]")) {
            if (skipOp(":")) {
                slice = true;
                part++;
                if (part > 2) {
                    throw error("a slice has at most three parts", peek());
                }
                continue;
            }
            if (parts[part] != null) {
                throw error("expected ':' or ']'", peek());
            }
            parts[part] = expression();
        }
        if (!slice) {
            if (parts[0] == null) {
                throw new JinjaException("empty subscript []", line);
            }
            return new Expr.Item(line, obj, parts[0]);
        }
        return new Expr.Slice(line, obj, parts[0], parts[1], parts[2]);
    }

    /** Arguments after '(' up to and including ')'. */
    private Expr.Args args() {
        List<Expr> positional = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        boolean first = true;
        while (!skipOp(")")) {
            if (!first) {
                expect(Kind.OP, ",");
                if (skipOp(")")) {
                    break;
                }
            }
            first = false;
            if (peek().kind() == Kind.NAME && tokens.get(at + 1).isOp("=")) {
                names.add(next().text());
                at++;
                named.add(expression());
            } else {
                if (!names.isEmpty()) {
                    throw error("positional argument after keyword arguments", peek());
                }
                positional.add(expression());
            }
        }
        return new Expr.Args(positional, names, named);
    }

    private Expr filtersAndTests(Expr e) {
        while (true) {
            if (skipOp("|")) {
                e = filterCall(e);
            } else if (peek().isName("is")) {
                int line = next().line();
                boolean negated = skipName("not");
                Token n = expect(Kind.NAME, null);
                String name = n.text();
                if (!Tests.exists(name)) {
                    throw new JinjaException("unknown test '" + name + "'", n.line());
                }
                Expr.Args a = Expr.Args.NONE;
                if (skipOp("(")) {
                    a = args();
                } else if (startsTestArgument(peek())) {
                    a = new Expr.Args(List.of(postfix(primary())), List.of(), List.of());
                }
                e = new Expr.Test(line, e, name, a, negated);
            } else {
                return e;
            }
        }
    }

    /** Jinja lets a test take one argument without parentheses: {@code x is divisibleby 3}. */
    private static boolean startsTestArgument(Token t) {
        return switch (t.kind()) {
            case STRING, INT, FLOAT -> true;
            case NAME -> !Set.of("else", "or", "and", "if", "is", "in", "not").contains(t.text());
            case OP -> t.text().equals("[") || t.text().equals("{");
            default -> false;
        };
    }

    private Expr.Filter filterCall(Expr value) {
        Token n = expect(Kind.NAME, null);
        if (!Filters.exists(n.text())) {
            throw new JinjaException("unknown filter '" + n.text() + "'", n.line());
        }
        Expr.Args a = skipOp("(") ? args() : Expr.Args.NONE;
        return new Expr.Filter(n.line(), value, n.text(), a);
    }
}
