package dev.resilientdb.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A localhost TCP port held for a test server's whole life, even while nothing listens on it (a
 * stopped database keeps its port), and across processes: a second build of the project on the same
 * machine never gets the same port.
 * <p>
 * Two things make that hold. The ports come from {@value #FIRST_PORT}-{@value #LAST_PORT}, below the
 * ephemeral ranges of Linux (32768-60999), macOS and Windows (49152-65535), so no {@code new
 * ServerSocket(0)} and no Tomcat on a random port, in this build or another, is handed one. And each
 * port is reserved with an exclusive lock on a file named after it under {@code java.io.tmpdir}; the
 * operating system drops the lock when the process ends, so a crashed build leaves nothing behind.
 * Something outside this scheme can still listen on a reserved port; servers check that they
 * answer on it themselves.
 */
public final class PortReservation implements AutoCloseable {

    static final int FIRST_PORT = 20000;

    static final int LAST_PORT = 32767;

    private static final Path DIRECTORY = Path.of(System.getProperty("java.io.tmpdir"),
            "resilient-db-test-ports-" + System.getProperty("user.name"));

    /**
     * Ports this JVM holds. A second channel on a held port's file must never be opened: closing it
     * would drop the process's lock (POSIX locks belong to the process, not to the channel).
     */
    private static final Set<Integer> heldByThisProcess = ConcurrentHashMap.newKeySet();

    private final int port;

    private final FileChannel channel;

    private final FileLock lock;

    private PortReservation(int port, FileChannel channel, FileLock lock) {
        this.port = port;
        this.channel = channel;
        this.lock = lock;
    }

    /** Reserves a port that no other holder has and nothing listens on now; the caller closes it. */
    public static PortReservation reserve() {
        try {
            Files.createDirectories(DIRECTORY);
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Cannot create the port reservation directory " + DIRECTORY, ex);
        }
        int size = LAST_PORT - FIRST_PORT + 1;
        int offset = ThreadLocalRandom.current().nextInt(size);
        for (int i = 0; i < size; i++) {
            int port = FIRST_PORT + (offset + i) % size;
            PortReservation reservation = tryReserve(port);
            if (reservation != null) {
                return reservation;
            }
        }
        throw new IllegalStateException("Every port from " + FIRST_PORT + " to " + LAST_PORT + " is reserved or in use");
    }

    private static PortReservation tryReserve(int port) {
        if (!heldByThisProcess.add(port)) {
            return null;
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(DIRECTORY.resolve(port + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock != null && isFree(port)) {
                return new PortReservation(port, channel, lock);
            }
        }
        catch (IOException | OverlappingFileLockException ex) {
            // Held by another process (or the file is not ours to lock): try the next port.
        }
        close(channel);
        heldByThisProcess.remove(port);
        return null;
    }

    /** Whether nothing listens on the port now, on the loopback address the test servers use. */
    static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        }
        catch (IOException ex) {
            return false;
        }
    }

    public int port() {
        return this.port;
    }

    /** Gives the port back; idempotent. */
    @Override
    public synchronized void close() {
        if (!this.channel.isOpen()) {
            return;
        }
        try {
            if (this.lock.isValid()) {
                this.lock.release();
            }
        }
        catch (IOException ex) {
            // Released with the channel below.
        }
        close(this.channel);
        heldByThisProcess.remove(this.port);
    }

    private static void close(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        }
        catch (IOException ex) {
            // Closing releases the lock; nothing more to do.
        }
    }

    @Override
    public String toString() {
        return "port " + this.port + " (reserved in " + DIRECTORY + ")";
    }

}
