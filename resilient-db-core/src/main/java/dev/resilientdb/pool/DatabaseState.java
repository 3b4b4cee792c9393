package dev.resilientdb.pool;

import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import dev.resilientdb.retry.SqlStates;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;


/**
 * One pool's view of its database, kept from direct evidence rather than from counting calls: a
 * failed attempt that looks like an outage (class 08, 57P0x, 53300, 25006, PgBouncer's login
 * back-off) makes the database suspect, and a probe outside the pool ({@link DatabaseProbe}) then
 * asks the server every probe interval until it answers. The probe's answers set the
 * {@link DatabaseAvailability} and since when; an outage that has lasted the fail-fast time is
 * {@linkplain Snapshot#failingFast() failing fast}. The first answer after the outage ends it, so
 * the time from the database's return to the state's is one probe interval and a round trip, at
 * any traffic, with or without callers.
 * <p>
 * The probe holds a server connection only while the database looks wrong: it closes it as soon as
 * the database answers again. Thread-safe; {@link #close()} ends the probe's thread.
 */
public final class DatabaseState implements AutoCloseable {

    private static final Log logger = LogFactory.getLog(DatabaseState.class);

    private final String name;

    private final DatabaseProbe probe;

    private final Duration probeInterval;

    private final Duration failFastAfter;

    private final ScheduledExecutorService probes;

    private final List<Consumer<Snapshot>> listeners = new CopyOnWriteArrayList<>();

    private volatile Snapshot current = new Snapshot(DatabaseAvailability.UP, Instant.now(), null, false);

    /** Guarded by {@code this}: how often the database came back or fail-fast engaged, what retrying callers wait on. */
    private long turns;

    /** Guarded by {@code this}: the probing in progress, {@code null} while the database is not suspect. */
    private @Nullable ScheduledFuture<?> probing;

    /** Guarded by {@code this}: when the first evidence of the current outage came, on {@link System#nanoTime()}. */
    private long outageStartedAt;

    private Instant outageStartedAtInstant = Instant.EPOCH;

    /** Guarded by {@code this}: whether the current outage's evidence includes a refused write (25006). */
    private boolean refusedWrite;

    private boolean closed;

    /**
     * @param name the pool's name, in log lines and the probe's thread name
     * @param probe the probe that asks the database, outside the pool; closed with this state
     * @param probeInterval the pause between probes while the database looks wrong
     * @param failFastAfter how long an outage lasts, from its first evidence, before calls fail fast
     */
    public DatabaseState(String name, DatabaseProbe probe, Duration probeInterval, Duration failFastAfter) {
        this.name = name;
        this.probe = probe;
        this.probeInterval = probeInterval;
        this.failFastAfter = failFastAfter;
        this.probes = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("resilient-db-state-" + name));
    }

    /** The pool's name. */
    public String name() {
        return this.name;
    }

    /** The state now. */
    public Snapshot current() {
        return this.current;
    }

    /** Tells the listener each new state; called on the probe's thread or the caller that brought the evidence. */
    public void onChange(Consumer<Snapshot> listener) {
        this.listeners.add(listener);
    }

    /**
     * Waits until the database comes back after an outage, or fail-fast engages, or this state is
     * closed, for at most the given time: a retrying caller waits so instead of sleeping its whole back-off.
     * @return whether one of those happened before the time ran out
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public boolean awaitTurn(Duration atMost) throws InterruptedException {
        long giveUpAt = System.nanoTime() + atMost.toNanos();
        synchronized (this) {
            long seen = this.turns;
            while (this.turns == seen && !this.closed) {
                long left = giveUpAt - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }
    }

    /**
     * Evidence from a failed attempt: when it looks like an outage, the database becomes suspect and
     * the probe starts asking it. So does a wait for a pool connection that timed out with nothing
     * wrong with the connections, since a hung server holds every connection without failing any:
     * the probe tells that from a busy pool on a healthy database in one round trip. Other failures
     * (constraint violations, serialization failures) say nothing about the database.
     */
    public void attemptFailed(Throwable failure) {
        DatabaseAvailability evidence = evidenceOf(failure);
        if (evidence != null || SqlStates.isPoolWaitTimeout(failure)) {
            suspect(evidence == DatabaseAvailability.READ_ONLY);
        }
    }

    /**
     * Evidence from a successful unit of work: the database answers. A read-only one says nothing
     * about a database that refuses writes.
     * @param readOnly whether the unit of work's transaction was read-only
     */
    public void attemptSucceeded(boolean readOnly) {
        Snapshot now = this.current;
        if (now.availability() != DatabaseAvailability.UP && !(readOnly && now.availability() == DatabaseAvailability.READ_ONLY)) {
            synchronized (this) {
                up("a unit of work succeeded");
            }
        }
    }

    /**
     * Evidence from the pool: it opened a new connection, so the server accepts sessions again (a
     * server that only refuses writes stays so until a write succeeds or the probe finds the primary).
     */
    public void connected() {
        Snapshot now = this.current;
        if (now.availability() != DatabaseAvailability.UP && now.availability() != DatabaseAvailability.READ_ONLY) {
            synchronized (this) {
                up("the pool opened a connection");
            }
        }
    }

    /**
     * Evidence from a probe run by someone else (the health contributor): an unanswered one makes
     * the database suspect, an answered one is left to this state's own probe to confirm. One that
     * could not check (behind PgBouncer, every pool connection lent out) says nothing.
     */
    public void probed(DatabaseProbe.Result result) {
        if (!result.reachable() && !result.unchecked() && !"closed".equals(result.error())
                && !"interrupted".equals(result.error())) {
            suspect(false);
        }
    }

    private synchronized void suspect(boolean refusedWrite) {
        this.refusedWrite |= refusedWrite;
        if (this.probing != null || this.closed) {
            return;
        }
        if (this.current.availability() == DatabaseAvailability.UP) {
            this.outageStartedAt = System.nanoTime();
            this.outageStartedAtInstant = Instant.now();
        }
        this.probing = this.probes.scheduleWithFixedDelay(this::probeOnce, 0, this.probeInterval.toNanos(),
                TimeUnit.NANOSECONDS);
    }

    private void probeOnce() {
        DatabaseProbe.Result result = this.probe.check(true);
        synchronized (this) {
            if (this.probing == null || result.unchecked()) {
                // Not asked (behind PgBouncer, every pool connection lent out): no evidence either way; ask again.
                return;
            }
            if (result.reachable() && (result.server() == null || result.server().primary() || !this.refusedWrite)) {
                up("it answered the probe");
                return;
            }
            DatabaseAvailability availability = result.reachable() ? DatabaseAvailability.READ_ONLY : availabilityOf(result);
            String reason = result.reachable() ? "the server refuses writes (not the primary)" : describe(result);
            boolean failingFast = System.nanoTime() - this.outageStartedAt >= this.failFastAfter.toNanos();
            Snapshot was = this.current;
            if (was.availability() == availability && was.failingFast() == failingFast && reason.equals(was.reason())) {
                return;
            }
            Snapshot now = new Snapshot(availability, this.outageStartedAtInstant, reason, failingFast);
            this.current = now;
            if (was.availability() == DatabaseAvailability.UP) {
                // Units of work ride it out so far; the retry engine sums the episode up at WARN when it is over.
                logger.info("resilient-db: the database of " + this.name + " is " + now.describe()
                        + "; units of work retry, and fail fast if it lasts " + this.failFastAfter.toMillis() + "ms");
            }
            if (failingFast && !was.failingFast()) {
                // Callers get failures from now on: said once.
                logger.error("resilient-db: the database of " + this.name + " is " + now.describe()
                        + "; calls fail fast until it answers again");
                turn();
            }
            else if (was.availability() != DatabaseAvailability.UP) {
                logger.debug("resilient-db: the database of " + this.name + " is " + now.describe());
            }
            this.listeners.forEach(listener -> listener.accept(now));
        }
    }

    /** Guarded by {@code this}. */
    private void up(String evidence) {
        if (this.probing != null) {
            this.probing.cancel(false);
            this.probing = null;
        }
        this.refusedWrite = false;
        this.probe.disconnect();
        Snapshot was = this.current;
        if (was.availability() == DatabaseAvailability.UP) {
            return;
        }
        Snapshot now = new Snapshot(DatabaseAvailability.UP, Instant.now(), null, false);
        this.current = now;
        String back = "resilient-db: the database of " + this.name + " answers again (" + evidence + ") after being "
                + was.describe() + " for " + Duration.between(was.since(), now.since()).toMillis() + "ms";
        if (was.failingFast()) {
            logger.warn(back + "; calls are served again");
        }
        else {
            logger.info(back);
        }
        turn();
        this.listeners.forEach(listener -> listener.accept(now));
    }

    /** Guarded by {@code this}. */
    private void turn() {
        this.turns++;
        notifyAll();
    }

    /** Whether {@link #close()} was called: the state no longer changes. */
    public synchronized boolean isClosed() {
        return this.closed;
    }

    /** Ends the probing and closes the probe. */
    @Override
    public synchronized void close() {
        this.closed = true;
        if (this.probing != null) {
            this.probing.cancel(false);
            this.probing = null;
        }
        this.probes.shutdownNow();
        this.probe.close();
        notifyAll();
    }

    /**
     * What a failure says about the database, or {@code null} when it says nothing: a wrong password,
     * a constraint violation, a serialization failure, or a pool that timed out with nothing wrong
     * with its connections.
     */
    @Nullable
    static DatabaseAvailability evidenceOf(Throwable failure) {
        if (SqlStates.isRefusedForGood(failure)) {
            return null;
        }
        if (SqlStates.isPgBouncerLoginBackOff(failure)) {
            return DatabaseAvailability.REFUSING;
        }
        String state = SqlStates.of(failure);
        if (state == null) {
            return null;
        }
        if (state.equals("53300") || state.equals("57P03")) {
            return DatabaseAvailability.REFUSING;
        }
        if (SqlStates.READ_ONLY_SQL_TRANSACTION.equals(state)) {
            return DatabaseAvailability.READ_ONLY;
        }
        if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")) {
            return timedOut(failure) ? DatabaseAvailability.HUNG : DatabaseAvailability.UNREACHABLE;
        }
        return null;
    }

    private static boolean timedOut(Throwable failure) {
        for (Throwable current = failure; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (current instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static DatabaseAvailability availabilityOf(DatabaseProbe.Result result) {
        String state = result.sqlState();
        String error = (result.error() != null) ? result.error() : "";
        if ("53300".equals(state) || "57P03".equals(state)
                || result.obstacle() == DatabaseProbe.Obstacle.PGBOUNCER_LOGIN_BACK_OFF) {
            return DatabaseAvailability.REFUSING;
        }
        if (error.startsWith("no answer within")) {
            return DatabaseAvailability.HUNG;
        }
        return DatabaseAvailability.UNREACHABLE;
    }

    private static String describe(DatabaseProbe.Result result) {
        String error = (result.error() != null) ? result.error() : "no answer";
        return (result.obstacle() == DatabaseProbe.Obstacle.PGBOUNCER_LOGIN_BACK_OFF)
                ? error + ", PgBouncer's login back-off (server_login_retry)" : error;
    }

    /**
     * The database's state at one moment.
     *
     * @param availability what the evidence says
     * @param since when it began: for an outage, its first evidence (a failed attempt or probe)
     * @param reason what the last probe found (SQLSTATE and exception type, never SQL or credentials);
     * {@code null} while up
     * @param failingFast whether calls fail fast: the outage has lasted the fail-fast time
     */
    public record Snapshot(DatabaseAvailability availability, Instant since, @Nullable String reason, boolean failingFast) {

        /** For example {@code "unreachable since 2026-12-03T12:03:04Z (SQLSTATE 08001 (PSQLException))"}. */
        public String describe() {
            return this.availability.name().toLowerCase(java.util.Locale.ROOT) + " since " + this.since
                    + ((this.reason != null) ? " (" + this.reason + ")" : "");
        }

    }

}
