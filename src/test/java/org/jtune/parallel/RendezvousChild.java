package org.jtune.parallel;

import java.time.Duration;

/** A worker in a process of its own, for {@link RendezvousTest}: joins, says so, and waits to be killed. */
public final class RendezvousChild {
    private RendezvousChild() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]), rank = Integer.parseInt(args[1]), size = Integer.parseInt(args[2]);
        try (Rendezvous r = Rendezvous.join("127.0.0.1", port, rank, size, Duration.ofSeconds(60), e -> {})) {
            System.out.println("joined " + r.id().length);
            System.out.flush();
            Thread.sleep(Duration.ofMinutes(5));
        }
    }
}
