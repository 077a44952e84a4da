package org.jtune.cli;

/** Entry point of {@code java -jar jtune.jar}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("jtune");
    }
}
