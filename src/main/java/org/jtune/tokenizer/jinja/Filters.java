package org.jtune.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Jinja's built-in filters that chat templates use, with transformers' {@code tojson}. */
final class Filters {
    private static final Set<String> NAMES = Set.of("abs", "attr", "capitalize", "center", "count", "d", "default",
            "dictsort", "e", "escape", "first", "float", "format", "indent", "int", "items", "join", "last", "length",
            "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe",
            "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper",
            "wordcount");

    private Filters() {
    }

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    static Object apply(Renderer r, String name, Object v, Arguments a) {
        int line = a.line();
        Object result = switch (name) {
            case "abs" -> {
                Long l = Values.asLong(v);
                if (l != null) {
                    yield Math.absExact(l);
                }
                yield Math.abs(number(v, line));
            }
            case "attr" -> r.attribute(v, a.string(0, "name"), line);
            case "capitalize" -> PyStrings.capitalize(text(v));
            case "center" -> {
                String s = text(v);
                long width = a.optionalLong(0, "width", 80);
                int n = s.codePointCount(0, s.length());
                if (width <= n) {
                    yield s;
                }
                r.checkLength(width, line);
                long left = (width - n) / 2 + ((width - n) % 2 & width % 2);
                yield " ".repeat((int) left) + s + " ".repeat((int) (width - n - left));
            }
            case "count", "length" -> Values.length(v, line);
            case "d", "default" -> {
                Object fallback = a.optional(0, "default_value", "");
                boolean bool = a.optionalBoolean(1, "boolean", false);
                yield v instanceof Undefined || (bool && !Values.truthy(v)) ? fallback : v;
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> m)) {
                    throw type(v, "dictsort", "a dict", line);
                }
                boolean caseSensitive = a.optionalBoolean(0, "case_sensitive", false);
                String by = (String) a.optional(1, "by", "key");
                boolean reverse = a.optionalBoolean(2, "reverse", false);
                List<Object> items = new ArrayList<>();
                m.forEach((k, x) -> items.add(Methods.pair(k, x)));
                int pos = by.equals("value") ? 1 : 0;
                Comparator<Object> c = (x, y) -> Values.compare(sortKey(((List<?>) x).get(pos), caseSensitive),
                        sortKey(((List<?>) y).get(pos), caseSensitive), "<", line);
                items.sort(reverse ? c.reversed() : c);
                yield items;
            }
            case "e", "escape" -> escape(Values.str(v));
            case "first" -> {
                List<Object> l = Values.iterate(v, line);
                yield l.isEmpty() ? new Undefined("no first item, sequence was empty") : l.get(0);
            }
            case "last" -> {
                List<Object> l = Values.iterate(v, line);
                yield l.isEmpty() ? new Undefined("no last item, sequence was empty") : l.get(l.size() - 1);
            }
            case "float" -> toFloat(v, a.optional(0, "default", 0.0));
            case "format" -> r.checkString(format(text(v), a.rest(0), line), line);
            case "indent" -> r.checkString(indent(r, text(v), a), line);
            case "int" -> toInt(v, a.optional(0, "default", 0L));
            case "items" -> {
                if (v instanceof Undefined) {
                    yield new ArrayList<>();
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw type(v, "items", "a dict", line);
                }
                List<Object> items = new ArrayList<>();
                m.forEach((k, x) -> items.add(Methods.pair(k, x)));
                yield items;
            }
            case "join" -> {
                String sep = (String) a.optional(0, "d", "");
                Object attribute = a.optional(1, "attribute", null);
                List<Object> items = Values.iterate(v, line);
                if (attribute != null) {
                    items = items.stream().map(x -> r.attribute(x, Values.str(attribute), line)).toList();
                }
                yield r.join(items, sep, line);
            }
            case "list" -> new ArrayList<>(Values.iterate(v, line));
            case "lower" -> PyStrings.lower(text(v));
            case "upper" -> PyStrings.upper(text(v));
            case "map" -> map(r, v, a);
            case "max", "min" -> {
                boolean caseSensitive = a.optionalBoolean(0, "case_sensitive", false);
                Object attribute = a.optional(1, "attribute", null);
                Object best = new Undefined("no " + name + " item, sequence was empty");
                for (Object x : Values.iterate(v, line)) {
                    Object key = sortKey(attribute == null ? x : r.attribute(x, Values.str(attribute), line),
                            caseSensitive);
                    if (best instanceof Undefined) {
                        best = x;
                        continue;
                    }
                    Object bestKey = sortKey(attribute == null ? best : r.attribute(best, Values.str(attribute),
                            line), caseSensitive);
                    int c = Values.compare(key, bestKey, "<", line);
                    if (name.equals("max") ? c > 0 : c < 0) {
                        best = x;
                    }
                }
                yield best;
            }
            case "select", "reject" -> select(r, Values.iterate(v, line), null, name.equals("select"), a);
            case "selectattr", "rejectattr" -> select(r, Values.iterate(v, line), a.string(0, "attribute"),
                    name.equals("selectattr"), a);
            case "replace" -> {
                String old = Values.str(a.required(0, "old"));
                String replacement = Values.str(a.required(1, "new"));
                yield r.checkString(Methods.replace(Values.str(v), old, replacement, a.optionalLong(2, "count", -1)),
                        line);
            }
            case "reverse" -> {
                if (v instanceof String s) {
                    yield new StringBuilder(s).reverse().toString();
                }
                List<Object> l = new ArrayList<>(Values.iterate(v, line));
                java.util.Collections.reverse(l);
                yield l;
            }
            case "round" -> {
                long precision = a.optionalLong(0, "precision", 0);
                String method = (String) a.optional(1, "method", "common");
                java.math.RoundingMode mode = switch (method) {
                    case "common" -> java.math.RoundingMode.HALF_EVEN;
                    case "ceil" -> java.math.RoundingMode.CEILING;
                    case "floor" -> java.math.RoundingMode.FLOOR;
                    default -> throw new JinjaException("round: method must be common, ceil or floor", line);
                };
                double d = number(v, line);
                if (Double.isNaN(d) || Double.isInfinite(d)) {
                    yield d;
                }
                yield new java.math.BigDecimal(d).setScale((int) Math.max(-300, Math.min(300, precision)), mode)
                        .doubleValue();
            }
            case "safe" -> v;
            case "sort" -> {
                boolean reverse = a.optionalBoolean(0, "reverse", false);
                boolean caseSensitive = a.optionalBoolean(1, "case_sensitive", false);
                Object attribute = a.optional(2, "attribute", null);
                List<Object> l = new ArrayList<>(Values.iterate(v, line));
                Comparator<Object> c = (x, y) -> Values.compare(
                        sortKey(attribute == null ? x : r.attribute(x, Values.str(attribute), line), caseSensitive),
                        sortKey(attribute == null ? y : r.attribute(y, Values.str(attribute), line), caseSensitive),
                        "<", line);
                l.sort(reverse ? c.reversed() : c);
                yield l;
            }
            case "string" -> r.checkString(Values.str(v), line);
            case "sum" -> {
                Object attribute = a.optional(0, "attribute", null);
                Object total = a.optional(1, "start", 0L);
                for (Object x : Values.iterate(v, line)) {
                    total = r.binary("+", total, attribute == null ? x : r.attribute(x, Values.str(attribute), line),
                            line);
                }
                yield total;
            }
            case "title" -> PyStrings.title(text(v));
            case "tojson" -> r.checkString(PyJson.tojson(r, v, a), line);
            case "trim" -> PyStrings.strip(Values.str(v), a.optionalString(0, "chars"), true, true);
            case "unique" -> {
                boolean caseSensitive = a.optionalBoolean(0, "case_sensitive", false);
                Object attribute = a.optional(1, "attribute", null);
                List<Object> out = new ArrayList<>();
                List<Object> seen = new ArrayList<>();
                for (Object x : Values.iterate(v, line)) {
                    Object key = sortKey(attribute == null ? x : r.attribute(x, Values.str(attribute), line),
                            caseSensitive);
                    if (seen.stream().noneMatch(s -> Values.eq(s, key))) {
                        seen.add(key);
                        out.add(x);
                    }
                }
                yield out;
            }
            case "wordcount" -> (long) PyStrings.split(Values.str(v), null, -1).size();
            default -> throw new IllegalStateException(name);
        };
        a.done();
        return result;
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? PyStrings.lower(s) : v;
    }

    private static String text(Object v) {
        return Values.str(v);
    }

    private static JinjaException type(Object v, String filter, String expected, int line) {
        return Values.undefinedOr(v, null, line, filter + " expects " + expected + ", not " + Values.typeName(v));
    }

    private static double number(Object v, int line) {
        if (!Values.isNumber(v)) {
            throw type(v, "this filter", "a number", line);
        }
        return Values.toDouble(v);
    }

    private static Object toInt(Object v, Object fallback) {
        Long l = Values.asLong(v);
        if (l != null) {
            return l;
        }
        if (v instanceof Double d) {
            return Double.isFinite(d) && Math.abs(d) < 9.2e18 ? (Object) (long) (double) d : fallback;
        }
        if (v instanceof String s) {
            try {
                return Long.parseLong(s.strip().replace("_", ""));
            } catch (NumberFormatException e) {
                try {
                    double d = Double.parseDouble(s.strip());
                    return Double.isFinite(d) && Math.abs(d) < 9.2e18 ? (Object) (long) d : fallback;
                } catch (NumberFormatException e2) {
                    return fallback;
                }
            }
        }
        return fallback;
    }

    private static Object toFloat(Object v, Object fallback) {
        if (Values.isNumber(v)) {
            return Values.toDouble(v);
        }
        if (v instanceof String s) {
            try {
                return Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
        return fallback;
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&#34;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Python's printf-style formatting for %s, %r, %d, %i, %f and %%. */
    private static String format(String pattern, List<Object> args, int line) {
        StringBuilder sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            if (++i >= pattern.length()) {
                throw new JinjaException("format: incomplete format at the end", line);
            }
            char k = pattern.charAt(i);
            if (k == '%') {
                sb.append('%');
                continue;
            }
            if (next >= args.size()) {
                throw new JinjaException("format: not enough arguments for format string", line);
            }
            Object arg = args.get(next++);
            switch (k) {
                case 's' -> sb.append(Values.str(arg));
                case 'r' -> sb.append(Values.repr(arg));
                case 'd', 'i' -> sb.append(Values.isNumber(arg) ? Long.toString((long) Values.toDouble(arg))
                        : fail(arg, line));
                case 'f' -> sb.append(Values.isNumber(arg) ? String.format(java.util.Locale.ROOT, "%.6f",
                        Values.toDouble(arg)) : fail(arg, line));
                default -> throw new JinjaException("format: unsupported format character '" + k + "'", line);
            }
        }
        if (next < args.size()) {
            throw new JinjaException("format: not all arguments converted during string formatting", line);
        }
        return sb.toString();
    }

    private static String fail(Object arg, int line) {
        throw new JinjaException("format: a number is required, not " + Values.typeName(arg), line);
    }

    /** indent(width=4, first=False, blank=False) of Jinja 3. */
    private static String indent(Renderer r, String s, Arguments a) {
        Object width = a.optional(0, "width", 4L);
        boolean first = a.optionalBoolean(1, "first", false);
        boolean blank = a.optionalBoolean(2, "blank", false);
        String pad;
        if (width instanceof String w) {
            pad = w;
        } else {
            Long n = Values.asLong(width);
            if (n == null || n > 1000) {
                throw a.wrongType("width", "an integer up to 1000 or a string", width);
            }
            pad = " ".repeat((int) Math.max(0, n));
        }
        // Jinja appends a newline before splitting, so a trailing newline makes no extra line.
        List<String> lines = (s + "\n").lines().toList();
        StringBuilder sb = new StringBuilder(first ? pad : "");
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (i > 0) {
                sb.append('\n').append(blank || !l.isEmpty() ? pad : "");
            }
            sb.append(l);
            r.checkLength(sb.length(), a.line());
        }
        return sb.toString();
    }

    private static Object map(Renderer r, Object v, Arguments a) {
        int line = a.line();
        List<Object> items = Values.iterate(v, line);
        List<Object> out = new ArrayList<>(items.size());
        if (a.has(-1, "attribute")) {
            String attribute = Values.str(a.optional(-1, "attribute", null));
            Object fallback = a.optional(-1, "default", null);
            boolean hasDefault = fallback != null;
            for (Object x : items) {
                Object got = r.attribute(x, attribute, line);
                out.add(got instanceof Undefined && hasDefault ? fallback : got);
            }
            return out;
        }
        String filter = a.string(0, "filter");
        if (!exists(filter)) {
            throw new JinjaException("map: unknown filter '" + filter + "'", line);
        }
        List<Object> rest = new ArrayList<>(a.rest(1));
        for (Object x : items) {
            r.step(line);
            out.add(apply(r, filter, x, new Arguments(filter, rest, new LinkedHashMap<>(), line)));
        }
        return out;
    }

    private static Object select(Renderer r, List<Object> items, String attribute, boolean keep, Arguments a) {
        int line = a.line();
        int testAt = attribute == null ? 0 : 1;
        String test = a.count() > testAt ? a.string(testAt, "test") : null;
        if (test != null && !Tests.exists(test)) {
            throw new JinjaException("unknown test '" + test + "'", line);
        }
        List<Object> testArgs = new ArrayList<>(a.rest(testAt + 1));
        List<Object> out = new ArrayList<>();
        for (Object x : items) {
            r.step(line);
            Object subject = attribute == null ? x : r.attribute(x, attribute, line);
            boolean passed = test == null ? Values.truthy(subject)
                    : Tests.apply(test, subject, new Arguments(test, testArgs, Map.of(), line));
            if (passed == keep) {
                out.add(x);
            }
        }
        return out;
    }
}
