package org.jtune.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Entry point of {@code java -jar jtune.jar COMMAND [ARGS]}. */
public final class Main {

    /** A subcommand: runs with its own arguments and returns the process exit code. */
    interface Command {
        String summary();

        int run(String[] args, PrintStream out) throws Exception;
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("info", new InfoCommand());
    }

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            usage(out);
            return 0;
        }
        if (args[0].equals("--version")) {
            out.println("jtune " + Version.get());
            return 0;
        }
        Command command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("jtune: unknown command '" + args[0] + "'");
            usage(err);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return command.run(rest, out);
        } catch (Exception e) {
            err.println("jtune " + args[0] + ": " + e.getMessage());
            if (System.getenv("JTUNE_STACKTRACE") != null) {
                e.printStackTrace(err);
            } else {
                err.println("(set JTUNE_STACKTRACE=1 for the stack trace)");
            }
            return 1;
        }
    }

    private static void usage(PrintStream out) {
        out.println("usage: java -jar jtune.jar COMMAND [ARGS]");
        out.println();
        out.println("commands:");
        COMMANDS.forEach((name, command) -> out.printf("  %-8s %s%n", name, command.summary()));
        out.println();
        out.println("  --version  print the version");
    }
}
