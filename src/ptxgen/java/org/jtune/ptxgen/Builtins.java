package org.jtune.ptxgen;

import java.util.ArrayList;
import java.util.List;

/**
 * Functions of the template language.
 * <ul>
 * <li>{@code range(n)}, {@code range(a, b)}, {@code range(a, b, step)}: integers from a (0) up to, not
 *     including, b, as in Python.</li>
 * <li>{@code regs(prefix, first, count)}: {@code "%acc4, %acc5, %acc6, %acc7"} for
 *     {@code regs("%acc", 4, 4)}; {@code regs(prefix, first, count, step)} steps by step.</li>
 * <li>{@code log2(n)}: the exponent of a power of two (an error for anything else).</li>
 * <li>{@code min(a, b, ...)}, {@code max(a, b, ...)}, {@code len(list or string)}.</li>
 * <li>{@code col(n)}: spaces up to column n of the output line (at least one), to align a trailing comment
 *     after operands whose length depends on the parameters.</li>
 * <li>{@code join(list, separator)}: the elements as text with the separator between them.</li>
 * <li>{@code offset(n)}: an address offset as PTX writes it after a register: {@code +n}, {@code -n}, or nothing
 *     for 0 ({@code [%qa0${offset(2048)}]} is {@code [%qa0+2048]}).</li>
 * </ul>
 */
final class Builtins {
    private Builtins() {
    }

    static Object call(String function, List<Object> args) {
        return switch (function) {
            case "range" -> range(args);
            case "regs" -> regs(args);
            case "log2" -> log2(integer(args, 0, 1, function));
            case "min" -> args.stream().mapToLong(a -> Values.integer(a, "min")).min()
                    .orElseThrow(() -> new IllegalArgumentException("min() of nothing"));
            case "max" -> args.stream().mapToLong(a -> Values.integer(a, "max")).max()
                    .orElseThrow(() -> new IllegalArgumentException("max() of nothing"));
            case "len" -> {
                arity(args, 1, function);
                yield args.get(0) instanceof String text ? (long) text.length()
                        : (long) Values.list(args.get(0), "len").size();
            }
            case "offset" -> {
                long n = integer(args, 0, 1, function);
                yield n == 0 ? "" : (n > 0 ? "+" : "") + n;
            }
            case "col" -> new Column((int) integer(args, 0, 1, function));
            case "join" -> {
                arity(args, 2, function);
                StringBuilder out = new StringBuilder();
                for (Object item : Values.list(args.get(0), "join")) {
                    if (!out.isEmpty()) {
                        out.append(Values.text(args.get(1)));
                    }
                    out.append(Values.text(item));
                }
                yield out.toString();
            }
            default -> throw new IllegalArgumentException("unknown function " + function + "()");
        };
    }

    /** Padding to a column of the line being written, resolved when the line is rendered. */
    record Column(int column) {
    }

    private static List<Object> range(List<Object> args) {
        if (args.isEmpty() || args.size() > 3) {
            throw new IllegalArgumentException("range() takes 1 to 3 integers, got " + args.size());
        }
        long start = args.size() == 1 ? 0 : Values.integer(args.get(0), "range");
        long end = Values.integer(args.get(args.size() == 1 ? 0 : 1), "range");
        long step = args.size() == 3 ? Values.integer(args.get(2), "range") : 1;
        if (step <= 0) {
            throw new IllegalArgumentException("range() step must be positive, got " + step);
        }
        List<Object> values = new ArrayList<>();
        for (long i = start; i < end; i += step) {
            values.add(i);
        }
        return values;
    }

    private static String regs(List<Object> args) {
        if (args.size() != 3 && args.size() != 4) {
            throw new IllegalArgumentException("regs() takes a prefix, the first index, a count and optionally a step");
        }
        String prefix = Values.text(args.get(0));
        long first = Values.integer(args.get(1), "regs");
        long count = Values.integer(args.get(2), "regs");
        long step = args.size() == 4 ? Values.integer(args.get(3), "regs") : 1;
        StringBuilder out = new StringBuilder();
        for (long i = 0; i < count; i++) {
            if (i > 0) {
                out.append(", ");
            }
            out.append(prefix).append(first + i * step);
        }
        return out.toString();
    }

    static long log2(long n) {
        if (n <= 0 || Long.bitCount(n) != 1) {
            throw new IllegalArgumentException("log2(" + n + "): not a power of two");
        }
        return Long.numberOfTrailingZeros(n);
    }

    private static long integer(List<Object> args, int index, int arity, String function) {
        arity(args, arity, function);
        return Values.integer(args.get(index), function);
    }

    private static void arity(List<Object> args, int arity, String function) {
        if (args.size() != arity) {
            throw new IllegalArgumentException(function + "() takes " + arity + " argument" + (arity == 1 ? "" : "s")
                    + ", got " + args.size());
        }
    }
}
