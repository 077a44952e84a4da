package org.jtune.launch;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The jar's entry point: says plainly what to install when the Java running it is older than jtune needs, instead
 * of the JVM's {@code UnsupportedClassVersionError}, and otherwise hands over to {@code org.jtune.cli.Main}. It is
 * compiled for Java 8 (the rest of jtune for 22) so that any Java still in use can run it.
 */
public final class JavaCheck {
    /** The oldest Java that runs jtune (the Foreign Function and Memory API is final in 22). */
    public static final int REQUIRED = 22;

    private JavaCheck() {}

    public static void main(String[] args) throws Throwable {
        String problem = problem(System.getProperty("java.specification.version"), System.getProperty("java.home"));
        if (problem != null) {
            System.err.println(problem);
            System.exit(1);
        }
        Method main = Class.forName("org.jtune.cli.Main").getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** What is wrong with running on Java {@code specificationVersion} ("1.8", "17", "25"), or null. */
    public static String problem(String specificationVersion, String javaHome) {
        int feature = feature(specificationVersion);
        if (feature >= REQUIRED) {
            return null;
        }
        return "jtune needs Java " + REQUIRED + " or newer, but this is Java " + specificationVersion + " (" + javaHome
                + ").\nInstall a JDK " + REQUIRED + "+ (for example Temurin 25, or your system's "
                + "openjdk-25-jdk package) and run jtune with its java:\n  /path/to/jdk-25/bin/java -jar jtune.jar ..."
                + "\nor set JAVA_HOME to it and put $JAVA_HOME/bin first on PATH.";
    }

    private static int feature(String version) {
        if (version == null) {
            return 0;
        }
        String v = version.startsWith("1.") ? version.substring(2) : version;
        int end = 0;
        while (end < v.length() && Character.isDigit(v.charAt(end))) {
            end++;
        }
        return end == 0 ? 0 : Integer.parseInt(v.substring(0, end));
    }
}
