package org.jtune.ptxgen;

import java.util.List;

/** Type checks and text forms of template values (Long, String, Boolean, List). */
final class Values {
    private Values() {
    }

    static long integer(Object value, String where) {
        if (value instanceof Long l) {
            return l;
        }
        throw new IllegalArgumentException(where + " needs an integer, got " + describe(value));
    }

    static boolean bool(Object value, String where) {
        if (value instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException(where + " needs true or false, got " + describe(value));
    }

    static List<?> list(Object value, String where) {
        if (value instanceof List<?> l) {
            return l;
        }
        throw new IllegalArgumentException(where + " needs a list, got " + describe(value));
    }

    static String text(Object value) {
        if (value instanceof List<?> list) {
            StringBuilder out = new StringBuilder();
            for (Object item : list) {
                if (!out.isEmpty()) {
                    out.append(", ");
                }
                out.append(text(item));
            }
            return out.toString();
        }
        return String.valueOf(value);
    }

    static String describe(Object value) {
        return switch (value) {
            case String s -> "the string \"" + s + "\"";
            case List<?> l -> "a list of " + l.size();
            default -> String.valueOf(value);
        };
    }
}
