package org.jtune.tokenizer.jinja;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The functions a chat template may call: Jinja's {@code range}, {@code namespace}, {@code dict}
 * and the ones transformers adds, {@code raise_exception} and {@code strftime_now}.
 */
final class Globals {
    private Globals() {
    }

    /** The functions by name; shared by every render, since none of them keeps state. */
    static final Map<String, Object> ALL = all();

    private static Map<String, Object> all() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("range", (JinjaCallable) Globals::range);
        g.put("namespace", (JinjaCallable) (r, args, kwargs, line) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (!(a instanceof Map<?, ?> m)) {
                    throw new JinjaException("namespace() takes a dict or keyword arguments", line);
                }
                m.forEach((k, v) -> ns.attributes.put(Values.str(k), v));
            }
            ns.attributes.putAll(kwargs);
            return ns;
        });
        g.put("dict", (JinjaCallable) (r, args, kwargs, line) -> {
            if (!args.isEmpty()) {
                throw new JinjaException("dict() takes keyword arguments only", line);
            }
            return new LinkedHashMap<Object, Object>(kwargs);
        });
        g.put("raise_exception", (JinjaCallable) (r, args, kwargs, line) -> {
            throw new TemplateRaisedException(args.isEmpty() ? "" : Values.str(args.get(0)), line);
        });
        g.put("strftime_now", (JinjaCallable) (r, args, kwargs, line) -> {
            Arguments a = new Arguments("strftime_now", args, kwargs, line);
            String format = a.string(0, "format");
            a.done();
            return r.checkString(strftime(format, LocalDateTime.now()), line);
        });
        return java.util.Collections.unmodifiableMap(g);
    }

    private static Object range(Renderer r, List<Object> args, Map<String, Object> kwargs, int line) {
        if (!kwargs.isEmpty() || args.isEmpty() || args.size() > 3) {
            throw new JinjaException("range() takes 1 to 3 integer arguments", line);
        }
        long[] v = new long[args.size()];
        for (int i = 0; i < v.length; i++) {
            Long l = Values.asLong(args.get(i));
            if (l == null) {
                throw Values.undefinedOr(args.get(i), null, line, "range() takes integers, not "
                        + Values.typeName(args.get(i)));
            }
            v[i] = l;
        }
        long start = v.length == 1 ? 0 : v[0];
        long stop = v.length == 1 ? v[0] : v[1];
        long step = v.length == 3 ? v[2] : 1;
        if (step == 0) {
            throw new JinjaException("range() step must not be zero", line);
        }
        double n = Math.max(0, Math.ceil(((double) stop - start) / step));
        r.checkItems(n, line);
        List<Object> out = new ArrayList<>((int) n);
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            out.add(i);
        }
        return out;
    }

    /** C's strftime for the directives chat templates use (dates in system prompts). */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }
}
