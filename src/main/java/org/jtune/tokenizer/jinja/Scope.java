package org.jtune.tokenizer.jinja;

import java.util.HashMap;
import java.util.Map;

/**
 * Variables visible at one point of a render. Loop bodies and macros get their own scope, so
 * that, as in Jinja, {@code set} inside them does not change the variables outside.
 */
final class Scope {
    private final Scope parent;
    private final Map<String, Object> vars = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
    }

    Object get(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            Object v = s.vars.get(name);
            if (v != null || s.vars.containsKey(name)) {
                return v;
            }
        }
        return Undefined.variable(name);
    }

    void set(String name, Object value) {
        vars.put(name, value);
    }
}
