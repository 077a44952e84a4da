package org.jtune.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Python methods of strings, dicts and lists that chat templates call
 * ({@code content.strip()}, {@code message.items()}, {@code tools|length}...), implemented here:
 * no method of a Java object is ever reached from a template. Methods that modify a value are
 * refused, as in the immutable sandbox transformers renders with.
 */
final class Methods {
    private static final Set<String> STR = Set.of("strip", "lstrip", "rstrip", "split", "rsplit", "splitlines",
            "startswith", "endswith", "upper", "lower", "title", "capitalize", "replace", "find", "rfind", "count",
            "join", "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower");
    private static final Set<String> DICT = Set.of("items", "keys", "values", "get");
    private static final Set<String> LIST = Set.of("index", "count");
    private static final Set<String> MUTATING = Set.of("append", "extend", "insert", "pop", "remove", "clear",
            "sort", "reverse", "update", "setdefault", "popitem");

    private Methods() {
    }

    /** The bound method, or null when the value has none of that name. */
    static JinjaCallable find(Object self, String name, int line) {
        boolean known = self instanceof String ? STR.contains(name)
                : self instanceof Map<?, ?> ? DICT.contains(name)
                : self instanceof List<?> && LIST.contains(name);
        if (known) {
            return (r, args, kwargs, l) -> call(r, self, name, args, kwargs, l);
        }
        if ((self instanceof List<?> || self instanceof Map<?, ?>) && MUTATING.contains(name)) {
            throw new JinjaException("a chat template may not modify a " + Values.typeName(self) + " (" + name
                    + "); use namespace() for state", line);
        }
        return null;
    }

    private static Object call(Renderer r, Object self, String name, List<Object> args, Map<String, Object> kwargs,
                               int line) {
        Arguments a = new Arguments(name, args, kwargs, line);
        Object result = switch (self) {
            case String s -> string(r, s, name, a);
            case Map<?, ?> m -> dict(m, name, a);
            case List<?> l -> list(l, name, a);
            default -> throw new IllegalStateException(name);
        };
        a.done();
        return result;
    }

    private static Object string(Renderer r, String s, String name, Arguments a) {
        return switch (name) {
            case "strip" -> PyStrings.strip(s, a.optionalString(0, "chars"), true, true);
            case "lstrip" -> PyStrings.strip(s, a.optionalString(0, "chars"), true, false);
            case "rstrip" -> PyStrings.strip(s, a.optionalString(0, "chars"), false, true);
            case "split" -> PyStrings.split(s, a.optionalString(0, "sep"), a.optionalLong(1, "maxsplit", -1));
            case "rsplit" -> rsplit(s, a.optionalString(0, "sep"), a.optionalLong(1, "maxsplit", -1));
            case "splitlines" -> new ArrayList<Object>(s.lines().toList());
            case "startswith" -> affix(s, a.required(0, "prefix"), true, a.line());
            case "endswith" -> affix(s, a.required(0, "suffix"), false, a.line());
            case "upper" -> PyStrings.upper(s);
            case "lower" -> PyStrings.lower(s);
            case "title" -> PyStrings.title(s);
            case "capitalize" -> PyStrings.capitalize(s);
            case "replace" -> r.checkString(replace(s, a.string(0, "old"), a.string(1, "new"),
                    a.optionalLong(2, "count", -1)), a.line());
            case "find" -> (long) codePointIndex(s, s.indexOf(a.string(0, "sub")));
            case "rfind" -> (long) codePointIndex(s, s.lastIndexOf(a.string(0, "sub")));
            case "count" -> (long) count(s, a.string(0, "sub"));
            case "join" -> r.join(Values.iterate(a.required(0, "iterable"), a.line()), s, a.line());
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PyStrings::isSpace);
            case "isupper" -> s.codePoints().anyMatch(Character::isLetter) && s.equals(PyStrings.upper(s));
            case "islower" -> s.codePoints().anyMatch(Character::isLetter) && s.equals(PyStrings.lower(s));
            default -> throw new IllegalStateException(name);
        };
    }

    private static Object dict(Map<?, ?> m, String name, Arguments a) {
        return switch (name) {
            case "items" -> {
                List<Object> out = new ArrayList<>(m.size());
                m.forEach((k, v) -> out.add(pair(k, v)));
                yield out;
            }
            case "keys" -> new ArrayList<Object>(m.keySet());
            case "values" -> new ArrayList<Object>(m.values());
            case "get" -> {
                Object key = a.required(0, "key");
                yield m.containsKey(key) ? m.get(key) : a.optional(1, "default", null);
            }
            default -> throw new IllegalStateException(name);
        };
    }

    private static Object list(List<?> l, String name, Arguments a) {
        Object x = a.required(0, "value");
        if (name.equals("count")) {
            return l.stream().filter(o -> Values.eq(o, x)).count();
        }
        for (int i = 0; i < l.size(); i++) {
            if (Values.eq(l.get(i), x)) {
                return (long) i;
            }
        }
        throw new JinjaException(Values.repr(x) + " is not in list", a.line());
    }

    private static List<Object> rsplit(String s, String sep, long maxSplit) {
        if (maxSplit < 0 || sep == null) {
            return PyStrings.split(s, sep, maxSplit);
        }
        List<Object> out = new ArrayList<>();
        int end = s.length();
        while (out.size() < maxSplit) {
            int at = s.lastIndexOf(sep, end - sep.length());
            if (at < 0) {
                break;
            }
            out.add(0, s.substring(at + sep.length(), end));
            end = at;
        }
        out.add(0, s.substring(0, end));
        return out;
    }

    private static boolean affix(String s, Object what, boolean prefix, int line) {
        List<?> options = what instanceof List<?> l ? l : List.of(what);
        for (Object o : options) {
            if (!(o instanceof String t)) {
                throw new JinjaException((prefix ? "startswith" : "endswith") + " takes a string or a tuple of "
                        + "strings, not " + Values.typeName(o), line);
            }
            if (prefix ? s.startsWith(t) : s.endsWith(t)) {
                return true;
            }
        }
        return false;
    }

    static String replace(String s, String old, String replacement, long count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long done = 0; done < count; done++) {
            int at = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            sb.append(s, from, at).append(replacement);
            if (old.isEmpty()) {
                if (at < s.length()) {
                    sb.append(s.charAt(at));
                }
                from = at + 1;
            } else {
                from = at + old.length();
            }
        }
        if (from < s.length()) {
            sb.append(s, from, s.length());
        }
        return sb.toString();
    }

    private static int codePointIndex(String s, int charIndex) {
        return charIndex < 0 ? -1 : s.codePointCount(0, charIndex);
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.codePointCount(0, s.length()) + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    /** A (key, value) pair, as Python's dict.items() gives it. */
    static List<Object> pair(Object key, Object value) {
        return new Tuple(key, value);
    }
}
