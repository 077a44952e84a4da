package org.jtune.tokenizer.jinja;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** Jinja's tests ({@code x is defined}, {@code x is string}, ...). */
final class Tests {
    private static final Set<String> NAMES = Set.of("defined", "undefined", "none", "string", "number", "integer",
            "float", "boolean", "true", "false", "mapping", "sequence", "iterable", "callable", "sameas", "eq",
            "equalto", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "lessthan", "greaterthan", "in",
            "odd", "even", "divisibleby", "lower", "upper", "filter", "test");

    private Tests() {
    }

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    static boolean apply(String name, Object v, Arguments a) {
        int line = a.line();
        boolean result = switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> Values.isNumber(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "mapping" -> v instanceof Map<?, ?>;
            case "sequence", "iterable" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "callable" -> v instanceof JinjaCallable;
            case "sameas" -> {
                Object o = a.required(0, "other");
                yield v == o || (v instanceof Boolean || v == null) && Values.eq(v, o) && sameType(v, o);
            }
            case "eq", "equalto", "==" -> Values.eq(v, a.required(0, "other"));
            case "ne", "!=" -> !Values.eq(v, a.required(0, "other"));
            case "lt", "<", "lessthan" -> Values.compare(v, a.required(0, "other"), "<", line) < 0;
            case "le", "<=" -> Values.compare(v, a.required(0, "other"), "<=", line) <= 0;
            case "gt", ">", "greaterthan" -> Values.compare(v, a.required(0, "other"), ">", line) > 0;
            case "ge", ">=" -> Values.compare(v, a.required(0, "other"), ">=", line) >= 0;
            case "in" -> Values.contains(a.required(0, "seq"), v, line);
            case "odd" -> integer(v, line) % 2 != 0;
            case "even" -> integer(v, line) % 2 == 0;
            case "divisibleby" -> {
                long d = integer(a.required(0, "num"), line);
                if (d == 0) {
                    throw new JinjaException("divisibleby 0", line);
                }
                yield integer(v, line) % d == 0;
            }
            case "lower" -> v instanceof String s && s.equals(PyStrings.lower(s));
            case "upper" -> v instanceof String s && s.equals(PyStrings.upper(s));
            case "filter" -> v instanceof String s && Filters.exists(s);
            case "test" -> v instanceof String s && exists(s);
            default -> throw new IllegalStateException(name);
        };
        a.done();
        return result;
    }

    private static boolean sameType(Object a, Object b) {
        return a == null ? b == null : b != null && a.getClass() == b.getClass();
    }

    private static long integer(Object v, int line) {
        Long l = Values.asLong(v);
        if (l == null) {
            throw Values.undefinedOr(v, null, line, "expected an integer, not " + Values.typeName(v));
        }
        return l;
    }
}
