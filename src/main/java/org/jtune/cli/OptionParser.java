package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The long options of one command: {@code --name value} or {@code --name=value}, flags as {@code --name} (and
 * {@code --no-name} where they can be turned off), repeatable options, and the same settings from a JSON config
 * file whose keys are the option names ({@code "lora-r"} or {@code "lora_r"}); options on the command line win.
 */
final class OptionParser {
    /** A flag (true/false), an option with one value, or an option that may be given several times. */
    enum Kind { FLAG, VALUE, LIST }

    /**
     * @param metavar   what the value is, for the help ("N", "DIR"); null for flags
     * @param negatable whether {@code --no-name} turns the flag off (for flags that are on by default)
     */
    record Option(String name, Kind kind, String metavar, boolean negatable, String help) {
        /** The same option with another help text (another command's defaults). */
        Option withHelp(String text) {
            return new Option(name, kind, metavar, negatable, text);
        }
    }

    /** The values given, by option name: Boolean for flags, String for values, List of String for lists. */
    record Parsed(Map<String, Object> values, Map<String, String> origins, boolean help) {
        boolean has(String name) {
            return values.containsKey(name);
        }

        /** Where a value came from, for error messages: {@code --lr} or {@code run.json: "lr"}. */
        String origin(String name) {
            return origins.getOrDefault(name, "--" + name);
        }

        String string(String name, String otherwise) {
            return has(name) ? (String) values.get(name) : otherwise;
        }

        boolean flag(String name, boolean otherwise) {
            return has(name) ? (Boolean) values.get(name) : otherwise;
        }

        @SuppressWarnings("unchecked")
        List<String> list(String name) {
            return has(name) ? List.copyOf((List<String>) values.get(name)) : List.of();
        }

        int integer(String name, int otherwise) {
            return Math.toIntExact(longValue(name, otherwise));
        }

        long longValue(String name, long otherwise) {
            if (!has(name)) {
                return otherwise;
            }
            try {
                return Long.parseLong(string(name, null).strip());
            } catch (NumberFormatException e) {
                throw new UsageException(origin(name) + ": expected a whole number, got '" + values.get(name) + "'");
            }
        }

        double decimal(String name, double otherwise) {
            if (!has(name)) {
                return otherwise;
            }
            try {
                double v = Double.parseDouble(string(name, null).strip());
                if (!Double.isFinite(v)) {
                    throw new NumberFormatException();
                }
                return v;
            } catch (NumberFormatException e) {
                throw new UsageException(origin(name) + ": expected a number, got '" + values.get(name) + "'");
            }
        }
    }

    static final String CONFIG = "config";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String command;
    private final String synopsis;
    private final String description;
    private final Map<String, Option> options = new LinkedHashMap<>();
    private final boolean acceptsConfig;

    OptionParser(String command, String synopsis, String description, List<Option> list, boolean acceptsConfig) {
        this.command = command;
        this.synopsis = synopsis;
        this.description = description;
        this.acceptsConfig = acceptsConfig;
        for (Option o : list) {
            options.put(o.name(), o);
        }
    }

    /** The option of that name, for a command that shares it; an unknown name is a bug. */
    Option option(String name) {
        Option o = options.get(name);
        if (o == null) {
            throw new IllegalArgumentException("no option --" + name + " in " + command);
        }
        return o;
    }

    /** As {@link #parse}, but where the arguments ask for help it prints the help and returns null. */
    Parsed parseOrHelp(String[] args, PrintStream out) {
        Parsed parsed = parse(args);
        if (parsed.help()) {
            printHelp(out);
            return null;
        }
        return parsed;
    }

    /** Parses the arguments, then fills what they leave unset from the {@code --config} file if one is named. */
    Parsed parse(String[] args) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        String configFile = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                return new Parsed(values, origins, true);
            }
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UsageException("unexpected argument '" + arg + "' (options start with --)");
            }
            String name = arg.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (acceptsConfig && name.equals(CONFIG)) {
                configFile = inline != null ? inline : value(args, ++i, name);
                continue;
            }
            Option o = options.get(name);
            if (o == null && name.startsWith("no-") && options.containsKey(name.substring(3))
                    && options.get(name.substring(3)).kind() == Kind.FLAG && inline == null) {
                values.put(name.substring(3), false);
                continue;
            }
            if (o == null) {
                throw new UsageException("unknown option --" + name + suggestion(name));
            }
            switch (o.kind()) {
                case FLAG -> {
                    if (inline != null) {
                        throw new UsageException("--" + name + " takes no value (use --" + name + " or --no-" + name
                                + ")");
                    }
                    values.put(name, true);
                }
                case VALUE -> values.put(name, inline != null ? inline : value(args, ++i, name));
                case LIST -> listOf(values, name).add(inline != null ? inline : value(args, ++i, name));
            }
        }
        if (configFile != null) {
            fillFromConfig(Path.of(configFile), values, origins);
        }
        return new Parsed(values, origins, false);
    }

    private static String value(String[] args, int i, String name) {
        if (i >= args.length || (args[i].startsWith("--") && args[i].length() > 2)) {
            throw new UsageException("--" + name + " needs a value");
        }
        return args[i];
    }

    @SuppressWarnings("unchecked")
    private static List<String> listOf(Map<String, Object> values, String name) {
        return (List<String>) values.computeIfAbsent(name, k -> new ArrayList<String>());
    }

    private String suggestion(String name) {
        for (String known : options.keySet()) {
            if (known.replace("-", "").equalsIgnoreCase(name.replace("-", "").replace("_", ""))) {
                return " (did you mean --" + known + "?)";
            }
        }
        return "";
    }

    private void fillFromConfig(Path file, Map<String, Object> values, Map<String, String> origins) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UsageException("config file not found: " + file);
        } catch (IOException e) {
            throw new UsageException(file + ": not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new UsageException(file + ": a config file must hold one JSON object of option names and values");
        }
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey().replace('_', '-');
            Option o = options.get(name);
            String origin = file + ": \"" + e.getKey() + "\"";
            if (o == null) {
                throw new UsageException(origin + " is not an option of " + command
                        + " (keys are the long option names, e.g. \"lora-r\" or \"lora_r\")");
            }
            if (values.containsKey(name)) {
                continue; // the command line wins
            }
            values.put(name, fromJson(o, e.getValue(), origin));
            origins.put(name, origin);
        }
    }

    private static Object fromJson(Option o, JsonNode v, String origin) {
        switch (o.kind()) {
            case FLAG -> {
                if (!v.isBoolean()) {
                    throw new UsageException(origin + " must be true or false, got " + v);
                }
                return v.asBoolean();
            }
            case VALUE -> {
                if (v.isArray() && o.name().equals("target-modules")) {
                    List<String> names = new ArrayList<>();
                    v.forEach(n -> names.add(n.asText()));
                    return String.join(",", names);
                }
                if (!v.isValueNode() || v.isNull()) {
                    throw new UsageException(origin + " must be a string or a number, got " + v);
                }
                return v.asText();
            }
            case LIST -> {
                List<String> list = new ArrayList<>();
                if (v.isArray()) {
                    for (JsonNode item : v) {
                        if (!item.isTextual()) {
                            throw new UsageException(origin + " must be a string or a list of strings, got " + v);
                        }
                        list.add(item.asText());
                    }
                } else if (v.isTextual()) {
                    list.add(v.asText());
                } else {
                    throw new UsageException(origin + " must be a string or a list of strings, got " + v);
                }
                return list;
            }
        }
        throw new AssertionError();
    }

    void printHelp(PrintStream out) {
        out.println("usage: java -jar jtune.jar " + command + " " + synopsis);
        out.println();
        out.println(description);
        out.println();
        out.println("options:");
        List<String[]> rows = new ArrayList<>();
        for (Option o : options.values()) {
            String left = "--" + o.name() + (o.kind() == Kind.FLAG ? (o.negatable() ? ", --no-" + o.name() : "")
                    : " " + o.metavar());
            rows.add(new String[] {left, o.help()});
        }
        if (acceptsConfig) {
            rows.add(new String[] {"--" + CONFIG + " FILE", "read options from a JSON object (keys: the option names "
                    + "above, \"lora-r\" or \"lora_r\"); options given on the command line win"});
        }
        rows.add(new String[] {"--help, -h", "show this help"});
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0) + 2;
        for (String[] r : rows) {
            out.println(wrap("  " + r[0] + " ".repeat(width - r[0].length()), r[1], 100));
        }
    }

    /** The help text wrapped at {@code columns}, continuation lines indented under its start. */
    private static String wrap(String left, String text, int columns) {
        StringBuilder out = new StringBuilder(left);
        int column = left.length();
        String indent = " ".repeat(left.length());
        for (String word : text.split(" ")) {
            if (column + word.length() + 1 > columns && column > left.length()) {
                out.append('\n').append(indent);
                column = indent.length();
            } else if (column > left.length()) {
                out.append(' ');
                column++;
            }
            out.append(word);
            column += word.length();
        }
        return out.toString();
    }
}
