package org.jtune.cli;

import java.io.PrintStream;
import org.jtune.api.BackendChoice;
import org.jtune.cuda.Cuda;
import org.jtune.cuda.Device;

/** {@code info}: what this machine offers jtune: Java, CPU, CUDA driver, GPUs, and the backend chosen. */
final class InfoCommand implements Main.Command {

    @Override
    public String summary() {
        return "show Java, CPU, CUDA driver and GPUs, and which backend training would use";
    }

    @Override
    public int run(String[] args, PrintStream out) {
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
        out.println("Backend: " + BackendChoice.choose().describe());
        return 0;
    }
}
