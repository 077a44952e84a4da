package org.jtune.tokenizer.jinja;

/**
 * A value that does not exist: a variable never set, a missing key or attribute. As in Jinja it
 * prints as nothing, is false, iterates as empty and is not {@code defined}; using it any other
 * way is an error that says what was missing.
 */
record Undefined(String hint) {
    static Undefined variable(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    static Undefined attribute(Object owner, Object name) {
        return new Undefined("'" + Values.typeName(owner) + " object' has no attribute " + Values.repr(name));
    }

    JinjaException error(int line) {
        return new JinjaException(hint, line);
    }
}
