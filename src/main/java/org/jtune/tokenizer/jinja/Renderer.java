package org.jtune.tokenizer.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a compiled template once, within a {@link RenderBudget}: every node run, loop iteration
 * and call is a step, every string made and the output are measured, and the clock is read every
 * few thousand steps.
 */
final class Renderer {
    private enum Flow { NORMAL, BREAK, CONTINUE }

    private final RenderBudget budget;
    private final long deadline;
    private final Scope root;
    private long steps;
    private int callDepth;

    Renderer(RenderBudget budget, Map<String, Object> context) {
        this.budget = budget;
        this.deadline = System.nanoTime() + budget.maxTime().toNanos();
        this.root = new Scope(new Scope(new Scope(null, Globals.ALL), context));
    }

    String render(List<Node> template) {
        StringBuilder out = new StringBuilder();
        Flow f = run(template, root, out);
        if (f != Flow.NORMAL) {
            throw new JinjaException("'" + f.name().toLowerCase() + "' outside a loop", 0);
        }
        return out.toString();
    }

    // ---- budget

    void step(int line) {
        if (++steps > budget.maxSteps()) {
            throw new RenderBudgetExceededException("took more than " + budget.maxSteps()
                    + " steps (loops too long or nested too deep)", line);
        }
        if ((steps & 4095) == 0 && System.nanoTime() - deadline > 0) {
            throw new RenderBudgetExceededException("took longer than " + budget.maxTime().toMillis() + " ms", line);
        }
    }

    void checkLength(long chars, int line) {
        if (chars > budget.maxStringChars()) {
            throw new RenderBudgetExceededException("made a string longer than " + budget.maxStringChars()
                    + " characters", line);
        }
    }

    String checkString(String s, int line) {
        checkLength(s.length(), line);
        return s;
    }

    void checkItems(double n, int line) {
        if (n > budget.maxItems()) {
            throw new RenderBudgetExceededException("made a list of more than " + budget.maxItems() + " items", line);
        }
    }

    private void emit(StringBuilder out, String s, int line) {
        if ((long) out.length() + s.length() > budget.maxOutputChars()) {
            throw new RenderBudgetExceededException("wrote more than " + budget.maxOutputChars()
                    + " characters of output", line);
        }
        out.append(s);
    }

    // ---- statements

    private Flow run(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node n : nodes) {
            Flow f = run(n, scope, out);
            if (f != Flow.NORMAL) {
                return f;
            }
        }
        return Flow.NORMAL;
    }

    private Flow run(Node node, Scope scope, StringBuilder out) {
        switch (node) {
            case Node.Text t -> {
                step(0);
                emit(out, t.text(), 0);
            }
            case Node.Output o -> {
                step(o.value().line());
                emit(out, Values.str(eval(o.value(), scope)), o.value().line());
            }
            case Node.If i -> {
                for (int k = 0; k < i.tests().size(); k++) {
                    step(i.tests().get(k).line());
                    if (Values.truthy(eval(i.tests().get(k), scope))) {
                        return run(i.bodies().get(k), scope, out);
                    }
                }
                return run(i.otherwise(), scope, out);
            }
            case Node.For f -> {
                return loop(f, scope, out);
            }
            case Node.Set s -> assign(s, scope);
            case Node.SetBlock s -> {
                StringBuilder body = new StringBuilder();
                run(s.body(), new Scope(scope), body);
                Object value = body.toString();
                for (Expr.Filter f : s.filters()) {
                    value = filter(f, value, scope);
                }
                scope.set(s.target(), value);
            }
            case Node.Macro m -> scope.set(m.name(), macro(m));
            case Node.FilterBlock fb -> {
                StringBuilder body = new StringBuilder();
                Flow flow = run(fb.body(), scope, body);
                emit(out, Values.str(filter(fb.filter(), body.toString(), scope)), fb.line());
                return flow;
            }
            case Node.Scoped s -> {
                Scope inner = s.names().isEmpty() ? scope : new Scope(scope);
                for (int k = 0; k < s.names().size(); k++) {
                    inner.set(s.names().get(k), eval(s.values().get(k), scope));
                }
                return run(s.body(), inner, out);
            }
            case Node.Break b -> {
                return Flow.BREAK;
            }
            case Node.Continue c -> {
                return Flow.CONTINUE;
            }
        }
        return Flow.NORMAL;
    }

    private Flow loop(Node.For f, Scope scope, StringBuilder out) {
        List<Object> items = Values.iterate(eval(f.iterable(), scope), f.line());
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                step(f.line());
                Scope s = new Scope(scope);
                bind(f.targets(), item, s, f.line());
                if (Values.truthy(eval(f.filter(), s))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        LoopInfo info = new LoopInfo(items);
        for (int i = 0; i < items.size(); i++) {
            step(f.line());
            info.index0 = i;
            Scope s = new Scope(scope);
            s.set("loop", info);
            bind(f.targets(), items.get(i), s, f.line());
            if (run(f.body(), s, out) == Flow.BREAK) {
                break;
            }
        }
        if (items.isEmpty()) {
            return run(f.otherwise(), scope, out);
        }
        return Flow.NORMAL;
    }

    private void bind(List<String> targets, Object value, Scope scope, int line) {
        if (targets.size() == 1) {
            scope.set(targets.get(0), value);
            return;
        }
        if (!(value instanceof List<?> l) || l.size() != targets.size()) {
            throw Values.undefinedOr(value, null, line, "cannot unpack " + Values.typeName(value) + " into "
                    + targets.size() + " names");
        }
        for (int i = 0; i < targets.size(); i++) {
            scope.set(targets.get(i), l.get(i));
        }
    }

    private void assign(Node.Set s, Scope scope) {
        step(s.line());
        Object value = eval(s.value(), scope);
        if (s.attribute() != null) {
            Object target = scope.get(s.targets().get(0));
            if (!(target instanceof Namespace ns)) {
                throw new JinjaException("cannot assign attribute on non-namespace object '" + s.targets().get(0)
                        + "'", s.line());
            }
            ns.attributes.put(s.attribute(), value);
            return;
        }
        bind(s.targets(), value, scope, s.line());
    }

    private JinjaCallable macro(Node.Macro m) {
        return (r, args, kwargs, line) -> {
            if (args.size() > m.params().size()) {
                throw new JinjaException("macro '" + m.name() + "' takes " + m.params().size()
                        + " arguments, " + args.size() + " given", line);
            }
            if (++callDepth > budget.maxCallDepth()) {
                throw new RenderBudgetExceededException("macro calls nested more than " + budget.maxCallDepth()
                        + " deep", line);
            }
            try {
                Scope s = new Scope(root);
                Map<String, Object> rest = new LinkedHashMap<>(kwargs);
                for (int i = 0; i < m.params().size(); i++) {
                    String p = m.params().get(i);
                    Object v;
                    if (i < args.size()) {
                        v = args.get(i);
                    } else if (rest.containsKey(p)) {
                        v = rest.remove(p);
                    } else if (m.defaults().get(i) != null) {
                        v = eval(m.defaults().get(i), s);
                    } else {
                        v = new Undefined("macro '" + m.name() + "' was called without '" + p + "'");
                    }
                    s.set(p, v);
                }
                if (!rest.isEmpty()) {
                    throw new JinjaException("macro '" + m.name() + "' takes no keyword argument " + rest.keySet(),
                            line);
                }
                StringBuilder body = new StringBuilder();
                run(m.body(), s, body);
                return body.toString();
            } finally {
                callDepth--;
            }
        };
    }

    // ---- expressions

    Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Expr.Literal l -> l.value();
            case Expr.Name n -> scope.get(n.name());
            case Expr.Attr a -> attribute(eval(a.obj(), scope), a.name(), a.line());
            case Expr.Item i -> item(eval(i.obj(), scope), eval(i.key(), scope), i.line());
            case Expr.Slice s -> Values.slice(eval(s.obj(), scope), opt(s.start(), scope), opt(s.stop(), scope),
                    opt(s.step(), scope), s.line());
            case Expr.Call c -> call(c, scope);
            case Expr.Filter f -> filter(f, eval(f.value(), scope), scope);
            case Expr.Test t -> {
                Object v = eval(t.value(), scope);
                boolean r = Tests.apply(t.name(), v, arguments(t.name(), t.args(), scope, t.line()));
                yield r != t.negated();
            }
            case Expr.Unary u -> unary(u, scope);
            case Expr.Binary b -> switch (b.op()) {
                case "and" -> {
                    Object l = eval(b.left(), scope);
                    yield Values.truthy(l) ? eval(b.right(), scope) : l;
                }
                case "or" -> {
                    Object l = eval(b.left(), scope);
                    yield Values.truthy(l) ? l : eval(b.right(), scope);
                }
                default -> binary(b.op(), eval(b.left(), scope), eval(b.right(), scope), b.line());
            };
            case Expr.Compare c -> compare(c, scope);
            case Expr.Conditional c -> Values.truthy(eval(c.test(), scope)) ? eval(c.then(), scope)
                    : c.otherwise() == null ? new Undefined("the conditional expression had no else branch")
                    : eval(c.otherwise(), scope);
            case Expr.ListLiteral l -> {
                List<Object> out = new ArrayList<>(l.items().size());
                for (Expr x : l.items()) {
                    out.add(eval(x, scope));
                }
                yield l.tuple() ? Tuple.of(out) : out;
            }
            case Expr.DictLiteral d -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    out.put(eval(d.keys().get(i), scope), eval(d.values().get(i), scope));
                }
                yield out;
            }
        };
    }

    private Object opt(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    /** {@code obj.name}: a method or loop/namespace attribute, else a dict item, else undefined. */
    Object attribute(Object obj, String name, int line) {
        if (obj instanceof Undefined u) {
            throw u.error(line);
        }
        JinjaCallable method = Methods.find(obj, name, line);
        if (method != null) {
            return method;
        }
        return Values.item(obj, name);
    }

    /** {@code obj[key]}: a dict item or list index, else a method, else undefined. */
    private Object item(Object obj, Object key, int line) {
        if (obj instanceof Undefined u) {
            throw u.error(line);
        }
        Object v = Values.item(obj, key);
        if (v instanceof Undefined && key instanceof String name) {
            JinjaCallable method = Methods.find(obj, name, line);
            return method != null ? method : v;
        }
        return v;
    }

    private Object call(Expr.Call c, Scope scope) {
        step(c.line());
        Object callee = eval(c.callee(), scope);
        if (!(callee instanceof JinjaCallable f)) {
            if (callee instanceof Undefined u) {
                throw u.error(c.line());
            }
            throw new JinjaException("'" + Values.typeName(callee) + "' object is not callable", c.line());
        }
        List<Object> args = new ArrayList<>(c.args().positional().size());
        for (Expr a : c.args().positional()) {
            args.add(eval(a, scope));
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < c.args().names().size(); i++) {
            kwargs.put(c.args().names().get(i), eval(c.args().named().get(i), scope));
        }
        return f.call(this, args, kwargs, c.line());
    }

    private Arguments arguments(String name, Expr.Args args, Scope scope, int line) {
        if (args == Expr.Args.NONE) {
            return new Arguments(name, List.of(), Map.of(), line);
        }
        List<Object> positional = new ArrayList<>(args.positional().size());
        for (Expr a : args.positional()) {
            positional.add(eval(a, scope));
        }
        if (args.names().isEmpty()) {
            return new Arguments(name, positional, Map.of(), line);
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < args.names().size(); i++) {
            kwargs.put(args.names().get(i), eval(args.named().get(i), scope));
        }
        return new Arguments(name, positional, kwargs, line);
    }

    private Object filter(Expr.Filter f, Object value, Scope scope) {
        step(f.line());
        return Filters.apply(this, f.name(), value, arguments(f.name(), f.args(), scope, f.line()));
    }

    private Object unary(Expr.Unary u, Scope scope) {
        Object v = eval(u.operand(), scope);
        if (u.op().equals("not")) {
            return !Values.truthy(v);
        }
        Long l = Values.asLong(v);
        if (l != null) {
            return u.op().equals("-") ? Math.negateExact(l) : l;
        }
        if (v instanceof Double d) {
            return u.op().equals("-") ? -d : d;
        }
        throw Values.undefinedOr(v, null, u.line(), "bad operand type for unary " + u.op() + ": '"
                + Values.typeName(v) + "'");
    }

    private Object compare(Expr.Compare c, Scope scope) {
        Object left = eval(c.first(), scope);
        for (int i = 0; i < c.ops().size(); i++) {
            Object right = eval(c.rest().get(i), scope);
            String op = c.ops().get(i);
            boolean ok = switch (op) {
                case "==" -> Values.eq(left, right);
                case "!=" -> !Values.eq(left, right);
                case "in" -> Values.contains(right, left, c.line());
                case "not in" -> !Values.contains(right, left, c.line());
                case "<" -> Values.compare(left, right, op, c.line()) < 0;
                case "<=" -> Values.compare(left, right, op, c.line()) <= 0;
                case ">" -> Values.compare(left, right, op, c.line()) > 0;
                default -> Values.compare(left, right, op, c.line()) >= 0;
            };
            if (!ok) {
                return false;
            }
            left = right;
        }
        return true;
    }

    /** Python's arithmetic; ints that would overflow 64 bits are an error rather than a wrong number. */
    Object binary(String op, Object a, Object b, int line) {
        if (op.equals("~")) {
            String s = Values.str(a);
            String t = Values.str(b);
            checkLength((long) s.length() + t.length(), line);
            return s.concat(t);
        }
        try {
            if (Values.isNumber(a) && Values.isNumber(b)) {
                return arithmetic(op, a, b, line);
            }
        } catch (ArithmeticException e) {
            throw new JinjaException("integer result of '" + op + "' is too large", line);
        }
        switch (op) {
            case "+" -> {
                if (a instanceof String s && b instanceof String t) {
                    checkLength((long) s.length() + t.length(), line);
                    return s.concat(t);
                }
                if (a instanceof List<?> x && b instanceof List<?> y) {
                    checkItems((double) x.size() + y.size(), line);
                    List<Object> out = new ArrayList<>(x);
                    out.addAll(y);
                    return out;
                }
            }
            case "*" -> {
                Long n = Values.asLong(b);
                Object seq = a;
                if (n == null) {
                    n = Values.asLong(a);
                    seq = b;
                }
                if (n != null && seq instanceof String s) {
                    long times = Math.max(0, n);
                    checkLength(times * s.length(), line);
                    return s.repeat((int) times);
                }
                if (n != null && seq instanceof List<?> l) {
                    long times = Math.max(0, n);
                    checkItems((double) times * l.size(), line);
                    List<Object> out = new ArrayList<>();
                    for (long i = 0; i < times; i++) {
                        out.addAll(l);
                    }
                    return out;
                }
            }
            default -> {
            }
        }
        throw Values.undefinedOr(a, b, line, "unsupported operand type(s) for " + op + ": '" + Values.typeName(a)
                + "' and '" + Values.typeName(b) + "'");
    }

    private static Object arithmetic(String op, Object a, Object b, int line) {
        Long x = Values.asLong(a);
        Long y = Values.asLong(b);
        boolean ints = x != null && y != null;
        double p = Values.toDouble(a);
        double q = Values.toDouble(b);
        switch (op) {
            case "+" -> {
                return ints ? (Object) Math.addExact(x, y) : p + q;
            }
            case "-" -> {
                return ints ? (Object) Math.subtractExact(x, y) : p - q;
            }
            case "*" -> {
                return ints ? (Object) Math.multiplyExact(x, y) : p * q;
            }
            case "/" -> {
                if (q == 0) {
                    throw new JinjaException("division by zero", line);
                }
                return p / q;
            }
            case "//" -> {
                if (q == 0) {
                    throw new JinjaException("integer division or modulo by zero", line);
                }
                return ints ? (Object) Math.floorDiv(x, y) : Math.floor(p / q);
            }
            case "%" -> {
                if (q == 0) {
                    throw new JinjaException("integer division or modulo by zero", line);
                }
                if (ints) {
                    return Math.floorMod(x, y);
                }
                double m = p % q;
                return m != 0 && (m < 0) != (q < 0) ? m + q : m;
            }
            case "**" -> {
                if (ints && y >= 0) {
                    long r = 1;
                    for (long i = 0; i < y; i++) {
                        r = Math.multiplyExact(r, x);
                        if (r == 0 || r == 1 && x == 1) {
                            break;
                        }
                    }
                    return x == -1 ? (y % 2 == 0 ? 1L : -1L) : r;
                }
                return Math.pow(p, q);
            }
            default -> throw new IllegalStateException(op);
        }
    }

    String join(List<Object> items, String sep, int line) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            step(line);
            if (i > 0) {
                sb.append(sep);
            }
            sb.append(Values.str(items.get(i)));
            checkLength(sb.length(), line);
        }
        return sb.toString();
    }
}
