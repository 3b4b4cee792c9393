package dev.resilientdb.pool;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import com.zaxxer.hikari.SQLExceptionOverride;
import dev.resilientdb.retry.SqlStates;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Notices that the server behind a HikariCP pool stopped being the primary, and moves the pool off it.
 * Installed as the pool's {@link SQLExceptionOverride} (wrapping one the application configured), it
 * sees every {@link SQLException} a pooled connection raises. Thread-safe.
 * <p>
 * A write refused with SQLSTATE 25006 ({@code read_only_sql_transaction}) on a connection the
 * application did not make read-only (no read-only Spring transaction on the thread, not a read-only
 * pool) means the connection points at a server a failover demoted: HikariCP keeps such a connection,
 * so this evicts it and soft-evicts the pool (its other connections reached the same server; idle ones
 * close now, busy ones when returned), at most once a second. The pool's new connections then go where
 * the JDBC URL leads, with {@code targetServerType=primary} to the new primary.
 * <p>
 * It also keeps what the health probe last saw ({@link #serverSeen}) and counts failovers: a demotion
 * (a 25006 as above, or the probe finding its server no longer primary), or the probe finding another
 * server primary than before. Signs within {@value #SAME_FAILOVER_SECONDS} s of a counted failover, and
 * the new primary found after a counted demotion, are the same failover.
 */
public final class FailoverMonitor implements SQLExceptionOverride {

    private static final Log logger = LogFactory.getLog(FailoverMonitor.class);

    static final long SAME_FAILOVER_SECONDS = 10;

    private static final long SAME_FAILOVER = Duration.ofSeconds(SAME_FAILOVER_SECONDS).toNanos();

    private static final long EVICTION_INTERVAL = Duration.ofSeconds(1).toNanos();

    private final HikariDataSource pool;

    private final SQLExceptionOverride delegate;

    private final AtomicLong failovers = new AtomicLong();

    private long lastCounted;

    private long lastEviction;

    private boolean awaitingPrimary;

    private volatile @Nullable Server lastSeen;

    private FailoverMonitor(HikariDataSource pool, SQLExceptionOverride delegate) {
        this.pool = pool;
        this.delegate = delegate;
    }

    /**
     * Installs a monitor as the pool's exception override, before the pool starts, keeping the one the
     * application set as the judge of every other exception; returns the pool's monitor.
     */
    public static synchronized FailoverMonitor install(HikariDataSource pool) {
        FailoverMonitor installed = of(pool);
        if (installed != null) {
            return installed;
        }
        FailoverMonitor monitor = new FailoverMonitor(pool, pool.getExceptionOverride());
        pool.setExceptionOverride(monitor);
        return monitor;
    }

    /** The pool's monitor, or {@code null} when none is installed. */
    public static @Nullable FailoverMonitor of(HikariDataSource pool) {
        return (pool.getExceptionOverride() instanceof FailoverMonitor monitor) ? monitor : null;
    }

    @java.lang.Override
    public Override adjudicate(SQLException ex) {
        if (SqlStates.READ_ONLY_SQL_TRANSACTION.equals(ex.getSQLState()) && !applicationMadeItReadOnly()) {
            demoted("a write was refused with SQLSTATE 25006 (read-only transaction)");
            return Override.MUST_EVICT;
        }
        return (this.delegate != null) ? this.delegate.adjudicate(ex) : Override.CONTINUE_EVICT;
    }

    /**
     * Records the server the probe's connection reached, which the pool's new connections reach too (same
     * URL and settings). A server no longer primary where the pool wants one is a demotion; another primary
     * than before is a failover.
     * @param server what the probe found
     * @param primaryWanted whether the pool's URL asks for the primary ({@code targetServerType=primary})
     */
    public void serverSeen(Server server, boolean primaryWanted) {
        Server previous = this.lastSeen;
        this.lastSeen = server;
        if (!server.primary()) {
            if (primaryWanted || (previous != null && previous.primary() && previous.sameAddress(server))) {
                demoted("the health probe found " + server.address() + " no longer primary");
            }
            return;
        }
        boolean moved;
        synchronized (this) {
            moved = previous != null && previous.primary() && !previous.sameAddress(server) && !this.awaitingPrimary;
            this.awaitingPrimary = false;
        }
        if (moved && previous != null) {
            count("the health probe found " + server.address() + " primary instead of " + previous.address());
            softEvict();
        }
    }

    /** Failovers seen since start-up. */
    public long failovers() {
        return this.failovers.get();
    }

    /** The server the health probe saw last, or {@code null} before its first check. */
    public @Nullable Server lastSeen() {
        return this.lastSeen;
    }

    private boolean applicationMadeItReadOnly() {
        return this.pool.isReadOnly() || TransactionSynchronizationManager.isCurrentTransactionReadOnly();
    }

    private void demoted(String sign) {
        synchronized (this) {
            this.awaitingPrimary = true;
        }
        count(sign);
        softEvict();
    }

    private void count(String sign) {
        long now = System.nanoTime();
        synchronized (this) {
            if (this.lastCounted != 0 && now - this.lastCounted < SAME_FAILOVER) {
                return;
            }
            this.lastCounted = now;
        }
        long seen = this.failovers.incrementAndGet();
        logger.warn("resilient-db: pool '" + this.pool.getPoolName() + "' sees a failover (" + sign + "); failovers seen: "
                + seen + ". Its connections are replaced; retried work goes to the new primary");
    }

    private void softEvict() {
        long now = System.nanoTime();
        synchronized (this) {
            if (this.lastEviction != 0 && now - this.lastEviction < EVICTION_INTERVAL) {
                return;
            }
            this.lastEviction = now;
        }
        HikariPoolMXBean pool = this.pool.getHikariPoolMXBean();
        if (pool != null) {
            pool.softEvictConnections();
        }
    }

    /**
     * A server as a probe saw it.
     *
     * @param host the server's address as it sees itself ({@code inet_server_addr()}), or {@code null} over a
     * Unix socket
     * @param port the server's port ({@code inet_server_port()}), or 0 over a Unix socket
     * @param primary whether it accepts writes: not in recovery and not read-only by default
     */
    public record Server(String host, int port, boolean primary) {

        /** {@code host:port}, or {@code local socket}. */
        public String address() {
            return (this.host != null) ? this.host + ":" + this.port : "local socket";
        }

        boolean sameAddress(Server other) {
            return address().equals(other.address());
        }

    }

}
