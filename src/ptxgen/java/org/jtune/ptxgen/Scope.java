package org.jtune.ptxgen;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/** Names visible while a template renders: the kernel's parameters, loop variables and {@code $let} values. */
final class Scope {
    private final Scope parent;
    private final Map<String, Object> values = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
    }

    static Scope of(Map<String, ?> values) {
        Scope scope = new Scope(null);
        values.forEach(scope::define);
        return scope;
    }

    Object get(String name) {
        for (Scope scope = this; scope != null; scope = scope.parent) {
            Object value = scope.values.get(name);
            if (value != null) {
                return value;
            }
        }
        throw new IllegalArgumentException("unknown name '" + name + "'; known: " + names());
    }

    void define(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException("no value for '" + name + "'");
        }
        values.put(name, value instanceof Integer i ? Long.valueOf(i) : value);
    }

    private TreeSet<String> names() {
        TreeSet<String> names = new TreeSet<>();
        for (Scope scope = this; scope != null; scope = scope.parent) {
            names.addAll(scope.values.keySet());
        }
        return names;
    }
}
