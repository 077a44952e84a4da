package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The long options of one command, parsed by picocli: {@code --name value} or {@code --name=value}, flags as
 * {@code --name} ({@code --name false} or {@code --no-name} to turn one off), repeatable options; every option also
 * under the names other tools give it ({@link OptionNames}: {@code --learning-rate} for {@code --lr}), spelled with
 * dashes or underscores; the same settings from a JSON or YAML config file ({@code --config}); options on the
 * command line win. An unknown name gets the closest known one as a suggestion.
 * <p>
 * A command describes its options as a list of {@link Option}s and reads the {@link Parsed} values.
 */
final class OptionParser {
    /** A flag (true/false), an option with one value, or an option that may be given several times. */
    enum Kind { FLAG, VALUE, LIST }

    /**
     * @param metavar   what the value is, for the help ("N", "DIR"); null for flags
     * @param negatable whether the help shows {@code --no-name} (for flags that are on by default)
     * @param aliases   other names of the option (dashed); those of {@link OptionNames} are added by the parser
     */
    record Option(String name, Kind kind, String metavar, boolean negatable, String help, List<String> aliases) {
        Option {
            aliases = List.copyOf(aliases);
        }

        Option(String name, Kind kind, String metavar, boolean negatable, String help) {
            this(name, kind, metavar, negatable, help, List.of());
        }

        /** The same option with another help text (another command's defaults). */
        Option withHelp(String text) {
            return new Option(name, kind, metavar, negatable, text, aliases);
        }

        /** Its name and aliases. */
        List<String> names() {
            List<String> all = new ArrayList<>();
            all.add(name);
            all.addAll(aliases);
            return all;
        }
    }

    /** The values given, by option name: Boolean for flags, String for values, List of String for lists. */
    record Parsed(Map<String, Object> values, Map<String, String> origins, boolean help) {
        boolean has(String name) {
            return values.containsKey(name);
        }

        /** Where a value came from, for error messages: {@code --learning_rate} or {@code run.yaml: "lr"}. */
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
    /**
     * Options whose value is a list that TRL scripts pass as several words ({@code --lora_target_modules q_proj
     * v_proj}, {@code --report_to tensorboard}); they also take one comma-separated word.
     */
    private static final Set<String> WORD_LISTS = Set.of("target-modules", "report-to");
    private static final Set<String> TRUE = Set.of("true", "1", "yes", "on");
    private static final Set<String> FALSE = Set.of("false", "0", "no", "off");

    private final String command;
    private final String synopsis;
    private final String description;
    private final Map<String, Option> options = new LinkedHashMap<>();
    /** Every accepted name (dashed) to its option's name. */
    private final Map<String, String> names = new LinkedHashMap<>();
    private final boolean acceptsConfig;

    OptionParser(String command, String synopsis, String description, List<Option> list, boolean acceptsConfig) {
        this.command = command;
        this.synopsis = synopsis;
        this.description = description;
        this.acceptsConfig = acceptsConfig;
        for (Option o : list) {
            Set<String> aliases = new LinkedHashSet<>(o.aliases());
            aliases.addAll(OptionNames.aliasesOf(o.name()));
            Option withAliases = new Option(o.name(), o.kind(), o.metavar(), o.negatable(), o.help(),
                    List.copyOf(aliases));
            options.put(o.name(), withAliases);
            for (String n : withAliases.names()) {
                if (names.putIfAbsent(n, o.name()) != null) {
                    throw new IllegalArgumentException("option name --" + n + " used twice in " + command);
                }
            }
        }
    }

    /** The option of that name, for a command that shares it; an unknown name is a bug. */
    Option option(String name) {
        Option o = options.get(name);
        if (o == null) {
            throw new IllegalArgumentException("no option --" + name + " in " + command);
        }
        return new Option(o.name(), o.kind(), o.metavar(), o.negatable(), o.help(), List.of());
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
        Map<String, String> origins = new LinkedHashMap<>();
        String[] normalized = normalize(args, origins);
        CommandLine cli = new CommandLine(spec());
        cli.setOverwrittenOptionsAllowed(true);
        ParseResult result;
        try {
            result = cli.parseArgs(normalized);
        } catch (CommandLine.UnmatchedArgumentException e) {
            throw new UsageException(unmatched(e.getUnmatched().getFirst()));
        } catch (CommandLine.MissingParameterException e) {
            String name = !e.getMissing().isEmpty() && e.getMissing().getFirst() instanceof OptionSpec o
                    ? o.longestName().substring(2) : "?";
            String canonical = names.getOrDefault(name, name);
            throw new UsageException(origins.getOrDefault(canonical, "--" + canonical) + " needs a value");
        } catch (CommandLine.ParameterException e) {
            throw new UsageException(e.getMessage());
        }
        Map<String, Object> values = new LinkedHashMap<>();
        if (result.isUsageHelpRequested()) {
            return new Parsed(values, origins, true);
        }
        for (Option o : options.values()) {
            OptionSpec matched = result.matchedOption("--" + o.name());
            if (matched == null) {
                origins.remove(o.name());
                continue;
            }
            switch (o.kind()) {
                case FLAG -> values.put(o.name(), bool(matched.getValue(), origins.getOrDefault(o.name(),
                        "--" + o.name())));
                case VALUE -> values.put(o.name(), WORD_LISTS.contains(o.name())
                        ? String.join(",", matched.<List<String>>getValue()) : matched.getValue());
                case LIST -> values.put(o.name(), new ArrayList<String>(matched.getValue()));
            }
        }
        if (acceptsConfig && result.hasMatchedOption("--" + CONFIG)) {
            fillFromConfig(Path.of((String) result.matchedOptionValue("--" + CONFIG, null)), values, origins);
        }
        return new Parsed(values, origins, false);
    }

    /**
     * The arguments with every option name dashed ({@code --learning_rate} is {@code --learning-rate}) and
     * {@code --no-flag} as {@code --flag=false}; records how each option was spelled, for messages.
     */
    private String[] normalize(String[] args, Map<String, String> origins) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                for (int j = i; j < args.length; j++) {
                    out.add(args[j]);
                }
                break;
            }
            if (!arg.startsWith("--") || arg.length() == 2) {
                if (arg.startsWith("-") && !arg.equals("-h") && (i == 0 || !expectsValue(args[i - 1]))) {
                    throw new UsageException("unknown option " + arg + " (options are long: --name)");
                }
                out.add(arg);
                continue;
            }
            int eq = arg.indexOf('=');
            String spelled = eq < 0 ? arg.substring(2) : arg.substring(2, eq);
            String name = OptionNames.normalize(spelled);
            String value = eq < 0 ? null : arg.substring(eq + 1);
            if (!names.containsKey(name) && name.startsWith("no-") && isFlag(name.substring(3))) {
                if (value != null) {
                    throw new UsageException("--" + spelled + " takes no value");
                }
                name = name.substring(3);
                value = "false";
            }
            if (names.containsKey(name)) {
                origins.put(names.get(name), "--" + spelled);
            }
            out.add("--" + name + (value == null ? "" : "=" + value));
        }
        if (out.isEmpty() && args.length == 0) {
            return new String[0];
        }
        return out.toArray(String[]::new);
    }

    private boolean expectsValue(String previous) {
        if (!previous.startsWith("--") || previous.contains("=")) {
            return false;
        }
        String name = names.get(OptionNames.normalize(previous.substring(2)));
        return name != null && options.get(name).kind() != Kind.FLAG
                || OptionNames.normalize(previous.substring(2)).equals(CONFIG);
    }

    private boolean isFlag(String name) {
        String canonical = names.get(name);
        return canonical != null && options.get(canonical).kind() == Kind.FLAG;
    }

    /** The picocli model of the options: each under its name and aliases. */
    private CommandSpec spec() {
        CommandSpec spec = CommandSpec.create().name(command);
        for (Option o : options.values()) {
            String[] all = o.names().stream().map(n -> "--" + n).toArray(String[]::new);
            OptionSpec.Builder b = OptionSpec.builder(all).paramLabel(o.metavar() == null ? "BOOL" : o.metavar());
            switch (o.kind()) {
                case FLAG -> b.arity("0..1").type(String.class).fallbackValue("true");
                case VALUE -> {
                    if (WORD_LISTS.contains(o.name())) {
                        b.arity("1..*").type(List.class).auxiliaryTypes(String.class);
                    } else {
                        b.arity("1").type(String.class);
                    }
                }
                case LIST -> b.arity("1").type(List.class).auxiliaryTypes(String.class);
            }
            spec.addOption(b.build());
        }
        if (acceptsConfig) {
            spec.addOption(OptionSpec.builder("--" + CONFIG).arity("1").type(String.class).build());
        }
        spec.addOption(OptionSpec.builder("--help", "-h").usageHelp(true).build());
        return spec;
    }

    private static boolean bool(String value, String origin) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (TRUE.contains(v)) {
            return true;
        }
        if (FALSE.contains(v)) {
            return false;
        }
        throw new UsageException(origin + " is true or false, got '" + value + "'");
    }

    /** "unknown option --x", with the closest known name where one is near. */
    private String unmatched(String arg) {
        if (!arg.startsWith("-")) {
            return "unexpected argument '" + arg + "' (options start with --)";
        }
        String name = arg.replaceFirst("^--?", "");
        int eq = name.indexOf('=');
        if (eq >= 0) {
            name = name.substring(0, eq);
        }
        return "unknown option --" + name + suggestion(name);
    }

    private String suggestion(String name) {
        Set<String> known = new LinkedHashSet<>(names.keySet());
        if (acceptsConfig) {
            known.add(CONFIG);
        }
        String near = OptionNames.closest(name, known);
        return near == null ? "" : " (did you mean --" + near + "?)";
    }

    private void fillFromConfig(Path file, Map<String, Object> values, Map<String, String> origins) {
        for (Map.Entry<String, JsonNode> e : ConfigFile.read(file).entrySet()) {
            String origin = file + ": \"" + e.getKey() + "\"";
            String name = names.get(OptionNames.normalize(e.getKey()));
            if (name == null) {
                String near = OptionNames.closest(e.getKey(), names.keySet());
                throw new UsageException(origin + " is not an option of " + command + (near != null
                        ? " (did you mean \"" + near.replace('-', '_') + "\"?)"
                        : " (keys are the option names of " + command + " --help, with - or _)"));
            }
            if (values.containsKey(name)) {
                continue; // the command line wins
            }
            values.put(name, fromConfig(options.get(name), e.getValue(), origin));
            origins.put(name, origin);
        }
    }

    private static Object fromConfig(Option o, JsonNode v, String origin) {
        switch (o.kind()) {
            case FLAG -> {
                if (v.isBoolean()) {
                    return v.asBoolean();
                }
                if (v.isTextual() || v.isNumber()) {
                    return bool(v.asText(), origin);
                }
                throw new UsageException(origin + " must be true or false, got " + v);
            }
            case VALUE -> {
                if (v.isArray()) {
                    List<String> items = new ArrayList<>();
                    for (JsonNode item : v) {
                        if (!item.isValueNode() || item.isNull()) {
                            throw new UsageException(origin + " must be a string, a number or a list of them, got " + v);
                        }
                        items.add(item.asText());
                    }
                    return String.join(",", items);
                }
                if (!v.isValueNode() || v.isNull()) {
                    throw new UsageException(origin + " must be a string or a number, got " + v);
                }
                return v.asText();
            }
            case LIST -> {
                List<String> list = new ArrayList<>();
                for (JsonNode item : v.isArray() ? v : List.of(v)) {
                    if (item.isTextual()) {
                        list.add(item.asText());
                    } else if (item.isObject() && item.path("path").isTextual()) {
                        list.add(item.get("path").asText()); // Axolotl's datasets: [{path: ..., type: ...}]
                    } else {
                        throw new UsageException(origin + " must be a string or a list of strings, got " + v);
                    }
                }
                return list;
            }
        }
        throw new AssertionError();
    }

    void printHelp(PrintStream out) {
        out.println("usage: " + SelfCommand.get() + " " + command + " " + synopsis);
        out.println();
        out.println(description);
        out.println();
        out.println("options:");
        List<String[]> rows = new ArrayList<>();
        for (Option o : options.values()) {
            StringBuilder left = new StringBuilder("--" + o.name());
            if (o.kind() != Kind.FLAG) {
                left.append(' ').append(o.metavar());
            }
            if (o.kind() == Kind.FLAG && o.negatable()) {
                left.append(", --no-").append(o.name());
            }
            if (!o.aliases().isEmpty()) {
                left.append("   (also --").append(String.join(", --", o.aliases())).append(')');
            }
            rows.add(new String[] {left.toString(), o.help()});
        }
        if (acceptsConfig) {
            rows.add(new String[] {"--" + CONFIG + " FILE", "read options from a JSON object or a YAML file (.yaml, "
                    + ".yml) of option names (any name above, with - or _) and values; options given on the command "
                    + "line win"});
        }
        rows.add(new String[] {"--help, -h", "show this help"});
        for (String[] r : rows) {
            out.println("  " + r[0]);
            out.println(wrap("      ", r[1], 100));
        }
        out.println();
        out.println("Names may be written with - or _ (--learning_rate); flags take an optional true or false.");
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
