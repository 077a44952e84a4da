package org.jtune.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens with the whitespace rules Hugging Face renders chat templates
 * with: trim_blocks (the first newline after a block or comment tag is dropped), lstrip_blocks
 * (spaces and tabs between a line's start and a block or comment tag are dropped), and the
 * explicit {@code -} / {@code +} markers on tags. {@code {% raw %}} sections come out as text.
 */
final class Lexer {
    private static final String[] OPERATORS = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
        "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};
    private static final Pattern END_RAW = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*([-+]?)%}");

    private final String src;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private int line = 1;
    private int counted;
    /** Set by a tag ending in '-': the next text loses its leading whitespace. */
    private boolean stripLeading;
    /** Set by a block or comment tag without '+': the next text loses one leading newline. */
    private boolean trimNewline;

    private Lexer(String src) {
        this.src = src;
    }

    static List<Token> tokenize(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.tokens;
    }

    private void run() {
        while (pos <= src.length()) {
            int tag = nextTag(pos);
            int textStart = pos;
            int textEnd = tag < 0 ? src.length() : tag;
            if (trimNewline && textStart < textEnd) {
                if (src.startsWith("\n", textStart)) {
                    textStart++;
                } else if (src.startsWith("\r\n", textStart)) {
                    textStart += 2;
                }
            }
            if (stripLeading) {
                while (textStart < textEnd && Character.isWhitespace(src.charAt(textStart))) {
                    textStart++;
                }
            }
            trimNewline = false;
            stripLeading = false;
            if (tag < 0) {
                text(textStart, textEnd);
                break;
            }
            char kind = src.charAt(tag + 1);
            char marker = tag + 2 < src.length() ? src.charAt(tag + 2) : ' ';
            if (marker == '-') {
                while (textEnd > textStart && Character.isWhitespace(src.charAt(textEnd - 1))) {
                    textEnd--;
                }
            } else if (kind != '{' && marker != '+') {
                textEnd = lstrip(textStart, textEnd);
            }
            text(textStart, textEnd);
            pos = tag + 2 + (marker == '-' || marker == '+' ? 1 : 0);
            switch (kind) {
                case '#' -> comment();
                case '{' -> expressionTag(Token.Kind.VAR_BEGIN, Token.Kind.VAR_END, "}}");
                default -> blockTag();
            }
        }
        tokens.add(new Token(Token.Kind.EOF, "", null, lineAt(pos)));
    }

    private int nextTag(int from) {
        int i = from;
        while (true) {
            i = src.indexOf('{', i);
            if (i < 0 || i + 1 >= src.length()) {
                return -1;
            }
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i++;
        }
    }

    /** lstrip_blocks: drops the spaces and tabs that stand alone between a line's start and the tag. */
    private int lstrip(int start, int end) {
        int i = end;
        while (i > start && (src.charAt(i - 1) == ' ' || src.charAt(i - 1) == '\t')) {
            i--;
        }
        boolean lineStart = i == 0 || src.charAt(i - 1) == '\n';
        return lineStart ? i : end;
    }

    private void text(int start, int end) {
        if (start < end) {
            String t = src.substring(start, end);
            tokens.add(new Token(Token.Kind.TEXT, t, null, lineAt(start)));
        }
    }

    private void comment() {
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw new JinjaException("comment '{#' is never closed", lineAt(pos));
        }
        endTag(end, end + 2, true);
    }

    /** Records the end of a tag: '-' strips what follows; a block or comment end trims one newline. */
    private void endTag(int markerEnd, int after, boolean trimmable) {
        char marker = markerEnd > 0 ? src.charAt(markerEnd - 1) : ' ';
        stripLeading = marker == '-';
        trimNewline = trimmable && marker != '+' && marker != '-';
        pos = after;
    }

    private void blockTag() {
        int first = tokens.size();
        expressionTag(Token.Kind.BLOCK_BEGIN, Token.Kind.BLOCK_END, "%}");
        if (tokens.size() == first + 3 && tokens.get(first + 1).isName("raw")) {
            tokens.subList(first, tokens.size()).clear();
            Matcher m = END_RAW.matcher(src);
            if (!m.find(pos)) {
                throw new JinjaException("'{% raw %}' is never closed by '{% endraw %}'", lineAt(pos));
            }
            int textStart = pos;
            if (trimNewline && src.startsWith("\n", textStart)) {
                textStart++;
            }
            int textEnd = m.start();
            if (!m.group(1).isEmpty() && m.group(1).equals("-")) {
                while (textEnd > textStart && Character.isWhitespace(src.charAt(textEnd - 1))) {
                    textEnd--;
                }
            }
            text(textStart, textEnd);
            endTag(m.end() - 2, m.end(), true);
        }
    }

    private void expressionTag(Token.Kind begin, Token.Kind end, String close) {
        tokens.add(new Token(begin, begin == Token.Kind.VAR_BEGIN ? "{{" : "{%", null, lineAt(pos)));
        int beginLine = lineAt(pos);
        int depth = 0;
        while (true) {
            skipSpace();
            if (pos >= src.length()) {
                throw new JinjaException("tag opened on line " + beginLine + " is never closed with '" + close + "'",
                        lineAt(pos));
            }
            if (depth == 0) {
                int closeAt = closeAt(close);
                if (closeAt >= 0) {
                    tokens.add(new Token(end, close, null, lineAt(pos)));
                    endTag(closeAt, closeAt + 2, end == Token.Kind.BLOCK_END);
                    return;
                }
            }
            char c = src.charAt(pos);
            if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                tokens.add(new Token(Token.Kind.NAME, src.substring(s, pos), null, lineAt(pos)));
            } else if (Character.isDigit(c)) {
                number();
            } else if (c == '\'' || c == '"') {
                string(c);
            } else {
                String op = operator();
                if (op.equals("(") || op.equals("[") || op.equals("{")) {
                    depth++;
                } else if ((op.equals(")") || op.equals("]") || op.equals("}")) && depth > 0) {
                    depth--;
                }
                tokens.add(new Token(Token.Kind.OP, op, null, lineAt(pos)));
            }
        }
    }

    /** Where the closing delimiter starts, counting a '-' or '+' marker before it, or -1 if it is not here. */
    private int closeAt(String close) {
        char c = src.charAt(pos);
        if ((c == '-' || c == '+') && src.startsWith(close, pos + 1)) {
            return pos + 1;
        }
        return src.startsWith(close, pos) ? pos : -1;
    }

    private void skipSpace() {
        while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
            pos++;
        }
    }

    private String operator() {
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                pos += op.length();
                return op;
            }
        }
        throw new JinjaException("unexpected character '" + src.charAt(pos) + "' in a tag", lineAt(pos));
    }

    private void number() {
        int s = pos;
        digits();
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            pos++;
            digits();
            isFloat = true;
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos;
            pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                digits();
                isFloat = true;
            } else {
                pos = save;
            }
        }
        String text = src.substring(s, pos);
        String plain = text.replace("_", "");
        if (isFloat) {
            tokens.add(new Token(Token.Kind.FLOAT, text, Double.parseDouble(plain), lineAt(s)));
            return;
        }
        try {
            tokens.add(new Token(Token.Kind.INT, text, Long.parseLong(plain), lineAt(s)));
        } catch (NumberFormatException e) {
            throw new JinjaException("integer " + text + " is too large", lineAt(s));
        }
    }

    private void digits() {
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
    }

    /** A quoted string with Python's escapes (\n, \t, \\, \', \", \xhh, \\uhhhh, \Uhhhhhhhh). */
    private void string(char quote) {
        int startLine = lineAt(pos);
        StringBuilder sb = new StringBuilder();
        int s = pos++;
        while (true) {
            if (pos >= src.length()) {
                throw new JinjaException("string is never closed", startLine);
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                break;
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000b');
                case 'a' -> sb.append('\u0007');
                case '0' -> sb.append('\0');
                case '\\', '\'', '"' -> sb.append(e);
                case '\n' -> { }
                case 'x' -> sb.appendCodePoint(hex(2, startLine));
                case 'u' -> sb.appendCodePoint(hex(4, startLine));
                case 'U' -> sb.appendCodePoint(hex(8, startLine));
                default -> sb.append('\\').append(e);
            }
        }
        tokens.add(new Token(Token.Kind.STRING, src.substring(s, pos), sb.toString(), startLine));
    }

    private int hex(int digits, int startLine) {
        if (pos + digits > src.length()) {
            throw new JinjaException("truncated \\x, \\u or \\U escape in a string", startLine);
        }
        try {
            int cp = Integer.parseUnsignedInt(src.substring(pos, pos + digits), 16);
            if (!Character.isValidCodePoint(cp)) {
                throw new NumberFormatException();
            }
            pos += digits;
            return cp;
        } catch (NumberFormatException e) {
            throw new JinjaException("bad escape in a string: " + src.substring(pos - 2, Math.min(src.length(),
                    pos + digits)), startLine);
        }
    }

    /** The 1-based line of a source index; indexes are asked for in increasing order, so counting is incremental. */
    private int lineAt(int index) {
        while (counted < index && counted < src.length()) {
            if (src.charAt(counted++) == '\n') {
                line++;
            }
        }
        return line;
    }
}
