package org.jtune.api;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * jtune's log records (the loader's memory line, PTX loading) as one plain line each on standard error, instead of
 * java.util.logging's two-line default with date and class. Left alone where the program configures logging itself
 * ({@code java.util.logging.config.file} or {@code .class} set, or handlers on the {@code org.jtune} logger).
 */
public final class LogLines {
    /** Held so that the configured logger is not collected and its handler lost. */
    private static final Logger JTUNE = Logger.getLogger("org.jtune");

    private LogLines() {}

    /** Installs the one-line format once; later calls do nothing. */
    public static synchronized void install() {
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null || JTUNE.getHandlers().length > 0) {
            return;
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                String text = formatMessage(r);
                return (r.getThrown() == null ? text : text + ": " + r.getThrown()) + System.lineSeparator();
            }
        });
        JTUNE.addHandler(handler);
        JTUNE.setUseParentHandlers(false);
    }
}
