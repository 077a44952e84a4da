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
        COMMANDS.put("sft", new SftCommand());
        COMMANDS.put("dpo", new DpoCommand());
        COMMANDS.put("merge", new MergeCommand());
        COMMANDS.put("chat", new ChatCommand());
        COMMANDS.put("generate", new GenerateCommand());
        COMMANDS.put("serve", new ServeCommand());
        COMMANDS.put("export-gguf", new ExportGgufCommand());
        COMMANDS.put("info", new InfoCommand());
    }

    private Main() {}

    /** Held so that its level stays set: the commands print the loader's memory line themselves. */
    private static final java.util.logging.Logger LOADER_LOG = java.util.logging.Logger.getLogger(
            "org.jtune.model.ModelLoader");

    public static void main(String[] args) {
        // Log records as bare lines, not in the two-line default layout.
        System.setProperty("java.util.logging.SimpleFormatter.format", "%5$s%6$s%n");
        LOADER_LOG.setLevel(java.util.logging.Level.WARNING);
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
        return run(args[0], command, Arrays.copyOfRange(args, 1, args.length), out, err);
    }

    /**
     * Runs one command and turns whatever it throws into a message and an exit code: 2 for a
     * command line that cannot be used, 1 for bad input or a failure, 3 for a JVM error (out of
     * memory, stack overflow) that no input should cause.
     */
    static int run(String name, Command command, String[] rest, PrintStream out, PrintStream err) {
        try {
            return command.run(rest, out);
        } catch (UsageException e) {
            err.println("jtune " + name + ": " + e.getMessage());
            err.println("(" + SelfCommand.get() + " " + name + " --help lists the options)");
            return 2;
        } catch (Exception e) {
            err.println("jtune " + name + ": " + message(e));
            stackTraceHint(e, err);
            return 1;
        } catch (OutOfMemoryError e) {
            err.println("jtune " + name + ": out of Java heap memory (" + message(e) + "); nothing more was"
                    + " written. Raise the heap with java -Xmx... or use smaller inputs.");
            stackTraceHint(e, err);
            return 3;
        } catch (StackOverflowError e) {
            err.println("jtune " + name + ": input nested too deeply for the thread's stack; nothing more was"
                    + " written. Raise it with java -Xss... or flatten the input.");
            stackTraceHint(e, err);
            return 3;
        } catch (Error e) {
            err.println("jtune " + name + ": internal error " + message(e) + "; nothing more was written");
            stackTraceHint(e, err);
            return 3;
        }
    }

    private static void stackTraceHint(Throwable e, PrintStream err) {
        if (System.getenv("JTUNE_STACKTRACE") != null) {
            e.printStackTrace(err);
        } else {
            err.println("(set JTUNE_STACKTRACE=1 for the stack trace)");
        }
    }

    /** The exception's message, or its type where it has none (a bug rather than bad input). */
    private static String message(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getName();
    }

    private static void usage(PrintStream out) {
        out.println("usage: " + SelfCommand.get() + " COMMAND [ARGS]");
        out.println();
        out.println("commands:");
        COMMANDS.forEach((name, command) -> out.printf("  %-8s %s%n", name, command.summary()));
        out.println();
        out.println("  --version  print the version");
        out.println();
        out.println(SelfCommand.get() + " COMMAND --help shows the options of a command.");
    }
}
