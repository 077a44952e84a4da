package org.jtune.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's rules for the values a template sees: {@code String}, {@code Long}, {@code Double},
 * {@code Boolean}, {@code null} (None), {@code List}, {@code Map}, {@link Undefined},
 * {@link Namespace}, {@link LoopInfo} and callables. Truth, printing, equality, ordering and
 * arithmetic follow Python, so templates print what transformers prints.
 */
final class Values {
    private Values() {
    }

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        return switch (v) {
            case String s -> "str";
            case Long l -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case Tuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Undefined u -> "Undefined";
            case Namespace n -> "Namespace";
            case LoopInfo l -> "LoopContext";
            default -> "function";
        };
    }

    static boolean truthy(Object v) {
        if (v == null) {
            return false;
        }
        return switch (v) {
            case Boolean b -> b;
            case String s -> !s.isEmpty();
            case Long l -> l != 0;
            case Double d -> d != 0;
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            case Undefined u -> false;
            default -> true;
        };
    }

    /** Python's str(): what {@code {{ value }}} prints. */
    static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Undefined) {
            return "";
        }
        return repr(v);
    }

    /** Python's repr(): strings quoted, lists and dicts as Python writes them. */
    static String repr(Object v) {
        if (v == null) {
            return "None";
        }
        return switch (v) {
            case String s -> quote(s);
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            case Boolean b -> b ? "True" : "False";
            case Tuple t -> {
                StringBuilder sb = new StringBuilder("(");
                for (int i = 0; i < t.size(); i++) {
                    sb.append(i > 0 ? ", " : "").append(repr(t.get(i)));
                }
                yield sb.append(t.size() == 1 ? ",)" : ")").toString();
            }
            case List<?> l -> {
                StringBuilder sb = new StringBuilder("[");
                for (int i = 0; i < l.size(); i++) {
                    sb.append(i > 0 ? ", " : "").append(repr(l.get(i)));
                }
                yield sb.append(']').toString();
            }
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("{");
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                    first = false;
                }
                yield sb.append('}').toString();
            }
            case Undefined u -> "Undefined";
            case Namespace n -> "<Namespace " + repr(n.attributes) + ">";
            default -> "<" + typeName(v) + ">";
        };
    }

    private static String quote(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(q);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c == q) {
                        sb.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append(q).toString();
    }

    /** Python's repr(float): shortest round-trip digits, positional for exponents in [-4, 16). */
    static String floatRepr(double value) {
        if (Double.isNaN(value)) {
            return "nan";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "inf" : "-inf";
        }
        String sign = Double.doubleToRawLongBits(value) < 0 ? "-" : "";
        if (value == 0) {
            return sign + "0.0";
        }
        BigDecimal d = new BigDecimal(Double.toString(Math.abs(value))).stripTrailingZeros();
        if (d.precision() == 2) {
            BigDecimal one = d.round(new MathContext(1, RoundingMode.HALF_EVEN));
            if (one.doubleValue() == Math.abs(value)) {
                d = one.stripTrailingZeros();
            }
        }
        String digits = d.unscaledValue().toString();
        int point = digits.length() - d.scale();
        if (point > -4 && point <= 16) {
            if (point <= 0) {
                return sign + "0." + "0".repeat(-point) + digits;
            }
            if (point >= digits.length()) {
                return sign + digits + "0".repeat(point - digits.length()) + ".0";
            }
            return sign + digits.substring(0, point) + "." + digits.substring(point);
        }
        int exponent = point - 1;
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static double toDouble(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).doubleValue();
    }

    /** An int operand (bool counts, as in Python), or null when v is a float or not a number. */
    static Long asLong(Object v) {
        return v instanceof Long l ? l : v instanceof Boolean b ? (b ? 1L : 0L) : null;
    }

    static boolean eq(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (isNumber(a) && isNumber(b)) {
            Long la = asLong(a);
            Long lb = asLong(b);
            return la != null && lb != null ? la.longValue() == lb.longValue() : toDouble(a) == toDouble(b);
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            if (la.size() != lb.size() || (a instanceof Tuple) != (b instanceof Tuple)) {
                return false;
            }
            for (int i = 0; i < la.size(); i++) {
                if (!eq(la.get(i), lb.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            if (ma.size() != mb.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : ma.entrySet()) {
                if (!mb.containsKey(e.getKey()) || !eq(e.getValue(), mb.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Undefined && b instanceof Undefined) {
            return true;
        }
        return a.equals(b);
    }

    /** Python's ordering of numbers, strings (by code point) and lists; anything else is a TypeError. */
    static int compare(Object a, Object b, String op, int line) {
        if (isNumber(a) && isNumber(b)) {
            Long la = asLong(a);
            Long lb = asLong(b);
            return la != null && lb != null ? Long.compare(la, lb) : Double.compare(toDouble(a), toDouble(b));
        }
        if (a instanceof String sa && b instanceof String sb) {
            return compareCodePoints(sa, sb);
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            for (int i = 0; i < Math.min(la.size(), lb.size()); i++) {
                if (!eq(la.get(i), lb.get(i))) {
                    return compare(la.get(i), lb.get(i), op, line);
                }
            }
            return Integer.compare(la.size(), lb.size());
        }
        throw undefinedOr(a, b, line, "'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** The error for an operation on an undefined operand, or else a type error with the message. */
    static JinjaException undefinedOr(Object a, Object b, int line, String typeError) {
        if (a instanceof Undefined u) {
            return u.error(line);
        }
        if (b instanceof Undefined u) {
            return u.error(line);
        }
        return new JinjaException(typeError, line);
    }

    /** What a for loop or a filter walks: list items, dict keys, string characters; undefined is empty. */
    static List<Object> iterate(Object v, int line) {
        if (v instanceof List<?> l) {
            @SuppressWarnings("unchecked")
            List<Object> items = (List<Object>) l;
            return items;
        }
        if (v instanceof Map<?, ?> m) {
            return new ArrayList<>(m.keySet());
        }
        if (v instanceof String s) {
            List<Object> chars = new ArrayList<>(s.length());
            s.codePoints().forEach(cp -> chars.add(Character.toString(cp)));
            return chars;
        }
        if (v instanceof Undefined) {
            return List.of();
        }
        throw new JinjaException("'" + typeName(v) + "' object is not iterable", line);
    }

    static long length(Object v, int line) {
        return switch (v) {
            case String s -> s.codePointCount(0, s.length());
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            case null, default -> throw new JinjaException("object of type '" + typeName(v) + "' has no len()", line);
        };
    }

    static boolean contains(Object container, Object item, int line) {
        if (container instanceof String s) {
            if (!(item instanceof String sub)) {
                throw undefinedOr(item, null, line, "'in <string>' requires string as left operand, not "
                        + typeName(item));
            }
            return s.contains(sub);
        }
        if (container instanceof Map<?, ?> m) {
            return m.containsKey(item);
        }
        for (Object o : iterate(container, line)) {
            if (eq(o, item)) {
                return true;
            }
        }
        return false;
    }

    /** Python's subscript: list and string indexes (negative from the end), dict keys. */
    static Object item(Object obj, Object key) {
        if (obj instanceof Map<?, ?> m) {
            Object v = m.get(key instanceof Boolean || key instanceof Double ? normalizeKey(key) : key);
            return v != null || m.containsKey(key) ? v : Undefined.attribute(obj, key);
        }
        Long index = asLong(key);
        if (obj instanceof List<?> l && index != null) {
            long i = index < 0 ? index + l.size() : index;
            return i >= 0 && i < l.size() ? l.get((int) i) : new Undefined("list index " + index + " out of range");
        }
        if (obj instanceof String s && index != null) {
            int n = s.codePointCount(0, s.length());
            long i = index < 0 ? index + n : index;
            if (i < 0 || i >= n) {
                return new Undefined("string index " + index + " out of range");
            }
            int at = s.offsetByCodePoints(0, (int) i);
            return Character.toString(s.codePointAt(at));
        }
        if (obj instanceof LoopInfo loop && key instanceof String name) {
            return loop.attribute(name);
        }
        if (obj instanceof Namespace ns && key instanceof String name) {
            return ns.attributes.containsKey(name) ? ns.attributes.get(name) : Undefined.attribute(obj, name);
        }
        return Undefined.attribute(obj, key);
    }

    private static Object normalizeKey(Object key) {
        if (key instanceof Boolean b) {
            return b ? 1L : 0L;
        }
        double d = (Double) key;
        return d == Math.rint(d) && Math.abs(d) < 1e18 ? (Object) (long) d : key;
    }

    /** Python's slice [start:stop:step] of a list or string. */
    static Object slice(Object obj, Object start, Object stop, Object step, int line) {
        int[] cps = obj instanceof String s ? s.codePoints().toArray() : null;
        List<?> list = obj instanceof List<?> l ? l : null;
        if (cps == null && list == null) {
            if (obj instanceof Undefined u) {
                throw u.error(line);
            }
            throw new JinjaException("'" + typeName(obj) + "' object is not subscriptable", line);
        }
        int n = cps != null ? cps.length : list.size();
        long st = step == null ? 1 : sliceIndex(step, line);
        if (st == 0) {
            throw new JinjaException("slice step cannot be zero", line);
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(sliceIndex(start, line), n, 0, n);
            hi = stop == null ? n : clamp(sliceIndex(stop, line), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(sliceIndex(start, line), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(sliceIndex(stop, line), n, -1, n - 1);
        }
        StringBuilder sb = cps != null ? new StringBuilder() : null;
        List<Object> out = list != null ? new ArrayList<>() : null;
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            if (sb != null) {
                sb.appendCodePoint(cps[(int) i]);
            } else {
                out.add(list.get((int) i));
            }
        }
        return sb != null ? sb.toString() : out;
    }

    private static long sliceIndex(Object v, int line) {
        Long l = asLong(v);
        if (l == null) {
            throw new JinjaException("slice indices must be integers or None, not " + typeName(v), line);
        }
        return l;
    }

    private static long clamp(long i, int n, long min, long max) {
        long j = i < 0 ? i + n : i;
        return Math.max(min, Math.min(max, j));
    }
}
