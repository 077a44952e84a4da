package org.jtune.cli;

import java.io.PrintStream;
import java.util.List;
import org.jtune.cuda.Cuda;
import org.jtune.cuda.Device;
import org.jtune.model.backend.Backend;

/** {@code info}: what this machine offers jtune: Java, CPU, CUDA driver, GPUs, and the backend chosen. */
final class InfoCommand implements Main.Command {
    private static final OptionParser PARSER = new OptionParser("info", "", """
            Shows the Java version, the CPU cores, the CUDA driver, each GPU, and the backend training would use
            (JTUNE_BACKEND=cpu or cuda overrides the choice).""", List.of(), false);

    @Override
    public String summary() {
        return "show Java, CPU, CUDA driver and GPUs, and which backend training would use";
    }

    @Override
    public int run(String[] args, PrintStream out) {
        if (PARSER.parse(args).help()) {
            PARSER.printHelp(out);
            return 0;
        }
        Runtime runtime = Runtime.getRuntime();
        out.println("jtune " + Version.get());
        out.printf("Java: %s (%s), max heap %d MiB%n", System.getProperty("java.version"),
                System.getProperty("java.vendor"), runtime.maxMemory() >> 20);
        out.printf("CPU: %d cores, %s %s%n", runtime.availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"));
        Cuda.Status status = Cuda.status();
        if (status.driverVersion() > 0) {
            out.println("CUDA driver: " + status.driverVersionString());
        } else {
            out.println("CUDA driver: none (" + status.reason() + ")");
        }
        for (Device device : Device.all()) {
            out.println(device);
        }
        out.println("Backend: " + Backend.choose().describe());
        return 0;
    }
}
