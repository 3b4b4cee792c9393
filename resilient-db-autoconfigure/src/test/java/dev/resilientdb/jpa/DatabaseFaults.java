package dev.resilientdb.jpa;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.test.PostgresServer;

/**
 * Real faults and concurrent work that the JPA test service injects from inside a unit of work,
 * through the server's superuser connection (never the application's pool).
 */
class DatabaseFaults {

    private final PostgresServer server;

    private volatile CountDownLatch arrivals = new CountDownLatch(0);

    DatabaseFaults(PostgresServer server) {
        this.server = server;
    }

    /** Terminates a backend, as an administrator or a failover would, and waits until it is gone. */
    void terminate(int pid) {
        this.server.execute("SELECT pg_terminate_backend(" + pid + ")");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!this.server.queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Backend " + pid + " was not gone 10 s after pg_terminate_backend");
            }
            sleep(Duration.ofMillis(20));
        }
    }

    /** Another client's committed deposit, which bumps the account's version. */
    void depositConcurrently(String id, int amount) {
        this.server.execute("UPDATE jpa_accounts SET balance = balance + " + amount + ", version = version + 1 WHERE id = '"
                + id + "'");
    }

    /** Makes {@link #awaitArrivals} wait for that many units of work to report they are in flight. */
    void expectArrivals(int count) {
        this.arrivals = new CountDownLatch(count);
    }

    /** Called by a unit of work that is in flight and about to hold its connection busy. */
    void arrived() {
        this.arrivals.countDown();
    }

    boolean awaitArrivals(Duration timeout) throws InterruptedException {
        return this.arrivals.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

}
