package org.jtune.ptxgen;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PTX template: PTX text in which {@code ${expr}} is replaced by the value of an expression ({@link Expr})
 * and lines whose first non-blank character is {@code $} followed by a word are directives:
 * <pre>
 * $for name in expr        repeats the lines up to the matching $end once per element of a list (range(n), [a, b])
 * $if expr / $elif expr / $else / $end
 * $let name = expr         defines a name for the rest of the enclosing block
 * $macro name(a, b)        defines a block of lines with parameters, up to the matching $end
 * $call name(expr, expr)   renders a macro; it sees the caller's names and its parameters
 * $include "file"          renders another template here (typically one that defines macros)
 * $# text                  a comment of the template, not written to the output
 * </pre>
 * Every other line is written as it is (with its substitutions) and ends with a newline.
 */
final class Template {
    private static final Pattern FOR = Pattern.compile("\\$for\\s+(\\w+)\\s+in\\s+(.+)");
    private static final Pattern IF = Pattern.compile("\\$if\\s+(.+)");
    private static final Pattern ELIF = Pattern.compile("\\$elif\\s+(.+)");
    private static final Pattern LET = Pattern.compile("\\$let\\s+(\\w+)\\s*=\\s*(.+)");
    private static final Pattern MACRO = Pattern.compile("\\$macro\\s+(\\w+)\\s*\\(([^)]*)\\)\\s*");
    private static final Pattern CALL = Pattern.compile("\\$call\\s+(\\w+)\\s*\\((.*)\\)\\s*");
    private static final Pattern INCLUDE = Pattern.compile("\\$include\\s+\"([^\"]+)\"\\s*");
    private static final Pattern DIRECTIVE = Pattern.compile("\\s*(\\$(?:[A-Za-z].*|#.*))");

    private final String name;
    private final List<Node> body;

    private Template(String name, List<Node> body) {
        this.name = name;
        this.body = body;
    }

    /** Reads a template; {@code name} appears in error messages. */
    static Template parse(String name, String text) {
        String[] lines = text.split("\n", -1);
        int count = lines.length;
        if (text.endsWith("\n")) {
            count--; // the newline ends the last line; it does not start another
        }
        Reader reader = new Reader(name, lines, count);
        List<Node> body = reader.block(false);
        return new Template(name, body);
    }

    /** Renders with the given names; {@code includes} finds the templates named by {@code $include}. */
    String render(Map<String, ?> values, Function<String, Template> includes) {
        StringBuilder out = new StringBuilder();
        new Renderer(includes).render(this, body, Scope.of(values), out);
        return out.toString();
    }

    // ---- the parsed form

    private sealed interface Node {
        int line();
    }

    /** A line of output: literal strings and expressions, in order. */
    private record Text(int line, List<Object> parts) implements Node {
    }

    private record For(int line, String variable, Expr items, List<Node> body) implements Node {
    }

    private record Branch(Expr test, List<Node> body) {
    }

    private record If(int line, List<Branch> branches) implements Node {
    }

    private record Let(int line, String variable, Expr value) implements Node {
    }

    private record Macro(int line, String macro, List<String> params, List<Node> body) implements Node {
    }

    private record Call(int line, String macro, Expr.ListOf args) implements Node {
    }

    private record Include(int line, String template) implements Node {
    }

    /** Turns lines into nodes, one block at a time; a block ends at {@code $end}, {@code $elif} or {@code $else}. */
    private static final class Reader {
        private final String name;
        private final String[] lines;
        private final int count;
        private int next;
        private String stop;

        Reader(String name, String[] lines, int count) {
            this.name = name;
            this.lines = lines;
            this.count = count;
        }

        List<Node> block(boolean nested) {
            List<Node> nodes = new ArrayList<>();
            int opened = next;
            while (next < count) {
                int line = next + 1;
                String text = lines[next++];
                Matcher directive = DIRECTIVE.matcher(text);
                if (!directive.matches()) {
                    nodes.add(new Text(line, parts(text, line)));
                    continue;
                }
                String d = directive.group(1).strip();
                if (d.startsWith("$#")) {
                    continue;
                }
                if (d.equals("$end") || d.equals("$else") || d.startsWith("$elif")) {
                    if (!nested) {
                        throw TemplateException.at(name, line, d + " without an open $for, $if or $macro");
                    }
                    stop = d;
                    return nodes;
                }
                nodes.add(directive(d, line));
            }
            if (nested) {
                throw TemplateException.at(name, opened, "block not closed with $end");
            }
            return nodes;
        }

        private Node directive(String d, int line) {
            Matcher m;
            if ((m = FOR.matcher(d)).matches()) {
                Expr items = expr(m.group(2), line);
                return new For(line, m.group(1), items, closed(line, "$for"));
            }
            if ((m = IF.matcher(d)).matches()) {
                List<Branch> branches = new ArrayList<>();
                Expr test = expr(m.group(1), line);
                while (true) {
                    List<Node> body = block(true);
                    branches.add(new Branch(test, body));
                    if (stop.equals("$end")) {
                        return new If(line, branches);
                    }
                    if (test == null) {
                        throw TemplateException.at(name, next, stop + " after $else");
                    }
                    Matcher elif = ELIF.matcher(stop);
                    if (elif.matches()) {
                        test = expr(elif.group(1), next);
                    } else if (stop.equals("$else")) {
                        test = null;
                    } else {
                        throw TemplateException.at(name, next, "cannot read '" + stop + "'");
                    }
                }
            }
            if ((m = LET.matcher(d)).matches()) {
                return new Let(line, m.group(1), expr(m.group(2), line));
            }
            if ((m = MACRO.matcher(d)).matches()) {
                List<String> params = new ArrayList<>();
                for (String param : m.group(2).split(",")) {
                    if (!param.isBlank()) {
                        params.add(param.strip());
                    }
                }
                return new Macro(line, m.group(1), List.copyOf(params), closed(line, "$macro"));
            }
            if ((m = CALL.matcher(d)).matches()) {
                Expr args = expr("[" + m.group(2) + "]", line);
                return new Call(line, m.group(1), (Expr.ListOf) args);
            }
            if ((m = INCLUDE.matcher(d)).matches()) {
                return new Include(line, m.group(1));
            }
            throw TemplateException.at(name, line, "unknown directive '" + d + "'");
        }

        private List<Node> closed(int line, String opener) {
            List<Node> body = block(true);
            if (!stop.equals("$end")) {
                throw TemplateException.at(name, next, stop + " inside " + opener + " (line " + line + ")");
            }
            return body;
        }

        private List<Object> parts(String text, int line) {
            List<Object> parts = new ArrayList<>();
            int pos = 0;
            while (true) {
                int open = text.indexOf("${", pos);
                if (open < 0) {
                    parts.add(text.substring(pos));
                    return parts;
                }
                parts.add(text.substring(pos, open));
                int close = closingBrace(text, open + 2, line);
                parts.add(expr(text.substring(open + 2, close), line));
                pos = close + 1;
            }
        }

        private int closingBrace(String text, int from, int line) {
            int depth = 0;
            boolean quoted = false;
            for (int i = from; i < text.length(); i++) {
                char c = text.charAt(i);
                if (quoted) {
                    if (c == '\\') {
                        i++;
                    } else if (c == '"') {
                        quoted = false;
                    }
                } else if (c == '"') {
                    quoted = true;
                } else if (c == '{') {
                    depth++;
                } else if (c == '}') {
                    if (depth == 0) {
                        return i;
                    }
                    depth--;
                }
            }
            throw TemplateException.at(name, line, "${ without its closing }");
        }

        private Expr expr(String text, int line) {
            try {
                return Expr.parse(text);
            } catch (IllegalArgumentException e) {
                throw TemplateException.at(name, line, e.getMessage());
            }
        }
    }

    /** Walks the nodes; macros are known from their definition on, in every template rendered after it. */
    private static final class Renderer {
        private final Function<String, Template> includes;
        private final Map<String, Macro> macros = new HashMap<>();
        private final Map<Macro, Template> macroTemplates = new HashMap<>();

        Renderer(Function<String, Template> includes) {
            this.includes = includes;
        }

        void render(Template template, List<Node> nodes, Scope scope, StringBuilder out) {
            for (Node node : nodes) {
                try {
                    renderNode(template, node, scope, out);
                } catch (IllegalArgumentException e) {
                    throw TemplateException.at(template.name, node.line(), e.getMessage());
                }
            }
        }

        private void renderNode(Template template, Node node, Scope scope, StringBuilder out) {
            switch (node) {
                case Text text -> {
                    int lineStart = out.length();
                    for (Object part : text.parts()) {
                        Object value = part instanceof Expr expr ? expr.eval(scope) : part;
                        if (value instanceof Builtins.Column column) {
                            out.append(" ".repeat(Math.max(1, column.column() - (out.length() - lineStart))));
                        } else {
                            out.append(Values.text(value));
                        }
                    }
                    out.append('\n');
                }
                case For loop -> {
                    for (Object item : Values.list(loop.items().eval(scope), "$for")) {
                        Scope inner = new Scope(scope);
                        inner.define(loop.variable(), item);
                        render(template, loop.body(), inner, out);
                    }
                }
                case If choice -> {
                    for (Branch branch : choice.branches()) {
                        if (branch.test() == null || Values.bool(branch.test().eval(scope), "$if")) {
                            render(template, branch.body(), scope, out); // $let inside stays visible after $end
                            break;
                        }
                    }
                }
                case Let let -> scope.define(let.variable(), let.value().eval(scope));
                case Macro macro -> {
                    if (macros.putIfAbsent(macro.macro(), macro) != null) {
                        throw new IllegalArgumentException("macro " + macro.macro() + " defined twice");
                    }
                    macroTemplates.put(macro, template);
                }
                case Call call -> {
                    Macro macro = macros.get(call.macro());
                    if (macro == null) {
                        throw new IllegalArgumentException("no macro " + call.macro() + " defined before this line");
                    }
                    List<?> args = (List<?>) call.args().eval(scope);
                    if (args.size() != macro.params().size()) {
                        throw new IllegalArgumentException("macro " + call.macro() + " takes " + macro.params()
                                + ", got " + args.size() + " argument(s)");
                    }
                    Scope inner = new Scope(scope);
                    for (int i = 0; i < args.size(); i++) {
                        inner.define(macro.params().get(i), args.get(i));
                    }
                    try {
                        render(macroTemplates.get(macro), macro.body(), inner, out);
                    } catch (TemplateException e) {
                        throw new TemplateException(e.getMessage() + "\n  in macro " + call.macro() + " called at "
                                + template.name + ":" + call.line());
                    }
                }
                case Include include -> {
                    Template included = includes.apply(include.template());
                    render(included, included.body, scope, out);
                }
            }
        }
    }
}
