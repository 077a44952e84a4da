package org.jtune.parallel;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * How the workers of a run find each other over TCP, as torchrun's variables describe them: worker 0 listens on
 * {@code MASTER_ADDR:MASTER_PORT}, every other worker connects and says its rank and the world size, and worker 0
 * sends each the communicator's id (NCCL's unique id: the bytes every worker's communicator is created from). The
 * connections then stay open as the run's failure channel: a worker that fails sends its error to worker 0, which
 * tells every other worker; a worker whose connection drops without saying goodbye (its process died) is reported
 * as failed the same way. Each process learns of a failure once, through its listener (which would abort its
 * communicator, so that its collectives end instead of hanging).
 */
public final class Rendezvous implements AutoCloseable {
    private static final int MAGIC = 0x6a74756e; // "jtun"
    private static final byte FAILED = 'F', GOODBYE = 'B';

    private final int rank, size;
    private final byte[] id;
    private final Consumer<WorkerFailedException> onFailure;
    /** Worker 0: the connection of each other worker by rank (null at 0); others: the connection to worker 0. */
    private final Connection[] connections;
    private ServerSocket server;
    private boolean failureSeen, closing;

    private Rendezvous(int rank, int size, byte[] id, Consumer<WorkerFailedException> onFailure) {
        this.rank = rank;
        this.size = size;
        this.id = id;
        this.onFailure = onFailure;
        this.connections = new Connection[rank == 0 ? size : 1];
    }

    /** One open connection and the thread that reads what comes on it. */
    private record Connection(int peer, Socket socket, DataInputStream in, DataOutputStream out) {}

    /**
     * Worker 0: listens on {@code port} (0 for any free port, see {@link #port()}), waits up to {@code timeout} for
     * the other {@code size - 1} workers and sends them {@code id}.
     *
     * @throws IOException if the port cannot be taken, a worker does not come in time or says another world size
     */
    public static Rendezvous host(int port, int size, byte[] id, Duration timeout,
                                  Consumer<WorkerFailedException> onFailure) throws IOException {
        if (size < 2) {
            throw new IllegalArgumentException("a rendezvous needs at least 2 workers, got " + size);
        }
        Rendezvous r = new Rendezvous(0, size, id.clone(), onFailure);
        r.server = new ServerSocket();
        try {
            r.server.setReuseAddress(true);
            r.server.bind(new InetSocketAddress(port));
            r.acceptAll(timeout);
        } catch (IOException | RuntimeException e) {
            r.closeQuietly();
            throw e;
        }
        return r;
    }

    private void acceptAll(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int joined = 0;
        while (joined < size - 1) {
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            server.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
            Socket s;
            try {
                s = server.accept();
            } catch (SocketTimeoutException e) {
                throw new IOException("rendezvous on port " + port() + ": " + joined + " of " + (size - 1)
                        + " workers joined within " + timeout.toSeconds() + " s; missing: " + missing());
            }
            s.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            int magic = in.readInt(), peer = in.readInt(), peerSize = in.readInt();
            String refusal = magic != MAGIC ? "it is not a jtune worker"
                    : peerSize != size ? "it says WORLD_SIZE=" + peerSize + ", worker 0 has " + size
                    : peer < 1 || peer >= size ? "its RANK " + peer + " is not in 1.." + (size - 1)
                    : connections[peer] != null ? "RANK " + peer + " joined twice" : null;
            if (refusal != null) {
                out.writeInt(MAGIC);
                out.writeInt(-1);
                out.writeUTF(refusal);
                out.flush();
                s.close();
                throw new IOException("rendezvous on port " + port() + ": refused a worker from "
                        + s.getRemoteSocketAddress() + ": " + refusal);
            }
            s.setSoTimeout(0);
            out.writeInt(MAGIC);
            out.writeInt(id.length);
            out.write(id);
            out.flush();
            connections[peer] = new Connection(peer, s, in, out);
            joined++;
        }
        for (Connection c : connections) {
            if (c != null) {
                listen(c);
            }
        }
    }

    private String missing() {
        List<Integer> ranks = new ArrayList<>();
        for (int r = 1; r < size; r++) {
            if (connections[r] == null) {
                ranks.add(r);
            }
        }
        return "RANK " + ranks;
    }

    /**
     * Worker {@code rank} (1 or more): connects to worker 0 at {@code host:port}, retrying until {@code timeout}
     * (worker 0 may start later), and receives the id.
     *
     * @throws IOException if worker 0 cannot be reached in time or refuses this worker
     */
    public static Rendezvous join(String host, int port, int rank, int size, Duration timeout,
                                  Consumer<WorkerFailedException> onFailure) throws IOException {
        if (rank < 1 || rank >= size) {
            throw new IllegalArgumentException("a joining worker's rank must be in 1.." + (size - 1) + ", got " + rank);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Socket s = null;
        IOException last = null;
        while (s == null && System.nanoTime() < deadline) {
            Socket attempt = new Socket();
            try {
                attempt.connect(new InetSocketAddress(host, port),
                        (int) Math.max(1, Math.min((deadline - System.nanoTime()) / 1_000_000, 10_000)));
                s = attempt;
            } catch (IOException e) {
                attempt.close();
                last = e;
                sleep(Duration.ofMillis(200));
            }
        }
        if (s == null) {
            throw new IOException("worker " + rank + " could not reach worker 0 at " + host + ":" + port + " within "
                    + timeout.toSeconds() + " s (MASTER_ADDR, MASTER_PORT)" + (last == null ? "" : ": " + last));
        }
        try {
            s.setSoTimeout((int) Math.max(1, Math.min((deadline - System.nanoTime()) / 1_000_000, Integer.MAX_VALUE)));
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(MAGIC);
            out.writeInt(rank);
            out.writeInt(size);
            out.flush();
            if (in.readInt() != MAGIC) {
                throw new IOException(host + ":" + port + " is not a jtune worker 0");
            }
            int length = in.readInt();
            if (length < 0) {
                throw new IOException("worker 0 at " + host + ":" + port + " refused worker " + rank + ": "
                        + in.readUTF());
            }
            byte[] id = in.readNBytes(length);
            if (id.length != length) {
                throw new EOFException("worker 0 at " + host + ":" + port + " closed while sending the id");
            }
            s.setSoTimeout(0);
            Rendezvous r = new Rendezvous(rank, size, id, onFailure);
            r.connections[0] = new Connection(0, s, in, out);
            r.listen(r.connections[0]);
            return r;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The communicator's id, the same bytes on every worker. */
    public byte[] id() {
        return id.clone();
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    /** The port worker 0 listens on. */
    public int port() {
        return server == null ? connections[0].socket().getPort() : server.getLocalPort();
    }

    /** Reads the connection's messages on a daemon thread until it ends. */
    private void listen(Connection c) {
        Thread.ofPlatform().daemon().name("rendezvous-" + rank + "-from-" + c.peer()).start(() -> {
            try {
                while (true) {
                    byte type = c.in().readByte();
                    if (type == GOODBYE) {
                        return;
                    }
                    if (type != FAILED) {
                        throw new IOException("unknown message " + type);
                    }
                    int failed = c.in().readInt();
                    String error = c.in().readUTF();
                    failed(failed, error, c.peer());
                }
            } catch (IOException e) {
                synchronized (this) {
                    if (closing) {
                        return;
                    }
                }
                failed(c.peer(), "its connection to worker " + rank + " ended without a goodbye (its process died,"
                        + " or the network failed): " + e, c.peer());
            }
        });
    }

    /** A worker failed: worker 0 tells the others (but the one it heard from), and this process learns of it once. */
    private void failed(int failedRank, String error, int heardFrom) {
        synchronized (this) {
            if (failureSeen) {
                return;
            }
            failureSeen = true;
        }
        if (rank == 0) {
            tellAll(failedRank, error, heardFrom);
        }
        onFailure.accept(new WorkerFailedException(failedRank, size, error, null));
    }

    /**
     * This worker failed with {@code error}: every other worker learns of it. Its own process is not told (it knows).
     */
    public void fail(Throwable error) {
        synchronized (this) {
            if (failureSeen) {
                return;
            }
            failureSeen = true;
        }
        String text = WorkerFailedException.describe(error);
        if (rank == 0) {
            tellAll(0, text, 0);
        } else {
            send(connections[0], FAILED, rank, text);
        }
    }

    private void tellAll(int failedRank, String error, int except) {
        for (Connection c : connections) {
            if (c != null && c.peer() != except) {
                send(c, FAILED, failedRank, error);
            }
        }
    }

    /** Best effort: a connection that is gone has nobody left to tell. */
    private static void send(Connection c, byte type, int failedRank, String error) {
        synchronized (c) {
            try {
                c.out().writeByte(type);
                if (type == FAILED) {
                    c.out().writeInt(failedRank);
                    c.out().writeUTF(error.length() > 8000 ? error.substring(0, 8000) : error);
                }
                c.out().flush();
            } catch (IOException ignored) {
                // the peer is gone; its own connection's end tells the others
            }
        }
    }

    /** Says goodbye to the other workers (a clean end, not a failure) and closes the connections. */
    @Override
    public void close() {
        synchronized (this) {
            closing = true;
        }
        for (Connection c : connections) {
            if (c != null) {
                send(c, GOODBYE, 0, "");
            }
        }
        closeQuietly();
    }

    private void closeQuietly() {
        for (Connection c : connections) {
            if (c != null) {
                try {
                    c.socket().close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }
        if (server != null) {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
