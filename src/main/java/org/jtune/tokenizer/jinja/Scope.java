package org.jtune.tokenizer.jinja;

import java.util.Arrays;
import java.util.Map;

/**
 * Variables visible at one point of a render. Loop bodies and macros get their own scope, so
 * that, as in Jinja, {@code set} inside them does not change the variables outside. A scope holds
 * few names (a loop's target and {@code loop}), so they are kept in two small arrays: a render
 * makes a scope per loop iteration, and hash maps would cost more than the template's work.
 */
final class Scope {
    private final Scope parent;
    /** Read-only variables under this scope's own (the caller's context, or the globals); may be null. */
    private final Map<String, Object> base;
    private String[] names;
    private Object[] values;
    private int size;

    Scope(Scope parent) {
        this(parent, null);
    }

    Scope(Scope parent, Map<String, Object> base) {
        this.parent = parent;
        this.base = base;
    }

    Object get(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            for (int i = s.size - 1; i >= 0; i--) {
                if (s.names[i].equals(name)) {
                    return s.values[i];
                }
            }
            if (s.base != null) {
                Object v = s.base.get(name);
                if (v != null || s.base.containsKey(name)) {
                    return v;
                }
            }
        }
        return Undefined.variable(name);
    }

    void set(String name, Object value) {
        for (int i = 0; i < size; i++) {
            if (names[i].equals(name)) {
                values[i] = value;
                return;
            }
        }
        if (names == null) {
            names = new String[4];
            values = new Object[4];
        } else if (size == names.length) {
            names = Arrays.copyOf(names, size * 2);
            values = Arrays.copyOf(values, size * 2);
        }
        names[size] = name;
        values[size++] = value;
    }
}
