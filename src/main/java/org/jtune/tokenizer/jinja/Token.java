package org.jtune.tokenizer.jinja;

/** One lexical token of a template: text between tags, tag delimiters, and the parts of expressions. */
record Token(Kind kind, String text, Object value, int line) {
    enum Kind { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    boolean is(Kind k, String t) {
        return kind == k && text.equals(t);
    }

    boolean isOp(String t) {
        return is(Kind.OP, t);
    }

    boolean isName(String t) {
        return is(Kind.NAME, t);
    }

    String describe() {
        return switch (kind) {
            case EOF -> "end of template";
            case VAR_END -> "'}}'";
            case BLOCK_END -> "'%}'";
            case TEXT -> "template text";
            case STRING -> "string " + text;
            default -> "'" + text + "'";
        };
    }
}
