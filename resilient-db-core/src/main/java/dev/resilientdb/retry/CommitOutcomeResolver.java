package dev.resilientdb.retry;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.LockSupport;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Finds out from PostgreSQL whether a transaction whose commit reply never arrived committed, for one
 * pool. Before a writable transaction's commit is sent, {@link #capture(Connection)} asks the server,
 * on the transaction's own connection, for the transaction's id (one round trip), and, once per
 * connection, for what identifies the server. When the commit's outcome is unknown, {@link #resolve} asks {@code pg_xact_status}
 * on a fresh connection of the pool, within the unit of work's deadline.
 * <p>
 * An answer is used only where it is provably about this transaction:
 * <ul>
 * <li>a primary answers (a standby may not have replayed the commit yet);
 * <li>it belongs to the same database cluster (system identifier);
 * <li>"committed" is taken as proof only from the same incarnation of the server: same timeline (no
 * failover) and shared statistics not reset since (PostgreSQL resets them on every start after a
 * crash, the only way a server forgets ids it handed out and may hand the same id to another
 * transaction; a clean shutdown or restart keeps them);
 * <li>"in progress" is asked about again, until the transaction (or one given its id after a crash) ends;
 * <li>"aborted", and an id the server has not reached, mean not committed even after a crash or a
 * failover: had the commit record reached the server's durable WAL, recovery would have moved the
 * next id past it, so an id handed out again proves this transaction's commit was lost with it.
 * </ul>
 * Anything else stays unknown. Thread-safe.
 */
public final class CommitOutcomeResolver {

    private static final Log logger = LogFactory.getLog(CommitOutcomeResolver.class);

    private static final String CAPTURE = "SELECT pg_current_xact_id_if_assigned()::text";

    /** Fails with 22023 for an id the server has not handed out yet. */
    private static final String STATUS = "SELECT pg_xact_status('%s'::xid8)";

    /**
     * What identifies the server; asked after the status: a server that is still the one that gave the
     * id then was that one when it answered (a server that crashed or failed over never becomes its
     * former self again).
     */
    private static final String IDENTITY = "SELECT pg_is_in_recovery(), (pg_control_system()).system_identifier::text, "
            + "extract(epoch FROM pg_stat_get_bgwriter_stat_reset_time())::text, "
            + "CASE WHEN pg_is_in_recovery() THEN NULL ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END";

    private static final String NOT_REACHED = "22023";

    private static final int FIRST_VERSION = 13;

    private final DataSource dataSource;

    private final String name;

    private final Duration askInterval;

    /** Whether the capture ran once inside a savepoint and worked; until then every capture is guarded. */
    private volatile boolean captureProven;

    private volatile boolean captureRefused;

    /**
     * What identifies the server of each open connection, read once per connection: a connection's
     * backend lives in one incarnation of the server (a crash ends every backend), so its identity
     * read earlier is still the one to compare with. Behind a pooler that hands a client connection
     * other server connections, read for every transaction instead ({@code null}).
     */
    @Nullable
    private final Map<Connection, ServerIdentity> identities;

    /**
     * @param dataSource the pool whose transactions are resolved, where the question is asked
     * @param name the pool's name, for meters and logs
     * @param askInterval the pause before asking again, while the server is unreachable or the
     * transaction still in progress
     * @param connectionsKeepTheirServer whether each connection stays on one server connection (no
     * pooler, or PgBouncer in session mode), so that what identifies the server is read once per connection
     */
    public CommitOutcomeResolver(DataSource dataSource, String name, Duration askInterval,
            boolean connectionsKeepTheirServer) {
        this.dataSource = dataSource;
        this.name = name;
        this.askInterval = askInterval;
        this.identities = connectionsKeepTheirServer ? Collections.synchronizedMap(new WeakHashMap<>()) : null;
    }

    /** The pool's name. */
    public String name() {
        return this.name;
    }

    /**
     * The id of the transaction on the connection; {@link TransactionId#NONE} when it has none (it
     * wrote nothing); {@code null} when the server cannot tell (before PostgreSQL 13, or the role may
     * not read what identifies the server). Never fails the transaction: the first question on a pool
     * runs inside a savepoint, and one that fails is not asked again.
     * @throws SQLException when the connection failed, so the commit cannot be sent on it; or, once the
     * question was answered on the pool before, when it failed all the same (a cancel): the server has
     * then aborted the transaction, and its commit would only roll it back
     */
    @Nullable
    TransactionId capture(Connection connection) throws SQLException {
        if (this.captureRefused) {
            return null;
        }
        if (connection.getMetaData().getDatabaseMajorVersion() < FIRST_VERSION) {
            refuse("the server is older than PostgreSQL " + FIRST_VERSION, null);
            return null;
        }
        if (this.captureProven) {
            return query(connection);
        }
        Savepoint savepoint = connection.setSavepoint();
        try {
            TransactionId id = query(connection);
            connection.releaseSavepoint(savepoint);
            // Proven only once the identity, not only the id, was read: a transaction without an id reads no identity.
            this.captureProven = id != TransactionId.NONE;
            return id;
        }
        catch (SQLException ex) {
            if (SqlStateFailureClassifier.isConnectionFailure(ex)) {
                throw ex;
            }
            connection.rollback(savepoint);
            refuse("the server refused the question", ex);
            return null;
        }
    }

    private void refuse(String why, @Nullable SQLException ex) {
        this.captureRefused = true;
        logger.warn("resilient-db: commit outcomes of pool " + this.name + " cannot be resolved (" + why
                + ((ex != null) ? ": " + RetryEngine.describe(ex) : "") + "); a lost commit reply stays unknown");
    }

    private TransactionId query(Connection connection) throws SQLException {
        String xid;
        try (Statement statement = connection.createStatement(); ResultSet result = statement.executeQuery(CAPTURE)) {
            result.next();
            xid = result.getString(1);
        }
        if (xid == null) {
            return TransactionId.NONE;
        }
        Connection physical = connection.unwrap(Connection.class);
        ServerIdentity identity = (this.identities != null) ? this.identities.get(physical) : null;
        if (identity == null) {
            identity = ServerIdentity.of(connection);
            if (this.identities != null) {
                this.identities.put(physical, identity);
            }
        }
        return new TransactionId(xid, identity);
    }

    /**
     * Asks the server what became of the transaction, until it answers for certain or the deadline passes.
     * @param id the transaction's id, from {@link #capture}
     * @param deadline {@link System#nanoTime()} by which to give up
     */
    CommitOutcome resolve(TransactionId id, long deadline) {
        String reason = "no answer";
        while (true) {
            try (Connection connection = this.dataSource.getConnection()) {
                CommitOutcome outcome = decide(id, connection);
                if (outcome != null) {
                    if (!connection.getAutoCommit()) {
                        connection.rollback();
                    }
                    return outcome;
                }
                reason = "the transaction was still in progress, or a standby answered,";
            }
            catch (SQLException ex) {
                if (!SqlStateFailureClassifier.isConnectionFailure(ex) && !SqlStates.isPoolWaitTimeout(ex)) {
                    return CommitOutcome.unresolved("the question failed with " + RetryEngine.describe(ex));
                }
                reason = "the server did not answer (" + RetryEngine.describe(ex) + ")";
            }
            long left = deadline - System.nanoTime();
            if (left <= this.askInterval.toNanos()) {
                return CommitOutcome.unresolved(reason + " within the unit of work's deadline");
            }
            LockSupport.parkNanos(this.askInterval.toNanos());
            if (Thread.currentThread().isInterrupted()) {
                return CommitOutcome.unresolved("interrupted while asking");
            }
        }
    }

    /** The outcome the server's answer proves, or {@code null} to ask again. */
    @Nullable
    private static CommitOutcome decide(TransactionId id, Connection connection) throws SQLException {
        if (!id.xid().chars().allMatch(Character::isDigit)) {
            return CommitOutcome.unresolved("the transaction id is not a number");
        }
        String status;
        try (Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery(String.format(STATUS, id.xid()))) {
            result.next();
            status = result.getString(1);
        }
        catch (SQLException ex) {
            if (!NOT_REACHED.equals(ex.getSQLState())) {
                throw ex;
            }
            status = "not reached";
            if (!connection.getAutoCommit()) {
                connection.rollback();
            }
        }
        ServerIdentity answering = ServerIdentity.of(connection);
        if (answering.inRecovery()) {
            // A standby may not have replayed the commit yet, nor the id: only a primary's answer counts.
            return null;
        }
        return decide(id, status, answering);
    }

    @Nullable
    private static CommitOutcome decide(TransactionId id, @Nullable String status,
            ServerIdentity answering) {
        if (!id.server().sameCluster(answering)) {
            return CommitOutcome.unresolved("another database cluster answers");
        }
        if (status == null) {
            return CommitOutcome.unresolved("the server no longer keeps the status of the transaction");
        }
        return switch (status) {
            case "committed" -> id.server().sameIncarnation(answering) ? CommitOutcome.COMMITTED
                    : CommitOutcome.unresolved("the server reports it committed, but it restarted after a crash or "
                            + "failed over since (or its statistics were reset), so the id may belong to another "
                            + "transaction");
            // Not committed on the server answering, even after a crash or a failover (see the class description).
            case "aborted", "not reached" -> CommitOutcome.ABORTED;
            // This transaction, or one that was given the same id after a crash: either ends, and is asked about again.
            case "in progress" -> null;
            default -> CommitOutcome.unresolved("unexpected status " + status);
        };
    }

    /**
     * What identifies a server: its cluster (shared with its standbys) and, within it, the incarnation
     * in which ids it hands out are never handed out again.
     * @param inRecovery whether it is a standby
     * @param systemIdentifier the cluster's system identifier
     * @param statsReset when its shared statistics were reset, which every start after a crash does
     * @param timeline its WAL timeline ({@code null} on a standby)
     */
    record ServerIdentity(boolean inRecovery, @Nullable String systemIdentifier,
            @Nullable String statsReset, @Nullable String timeline) {

        static ServerIdentity of(Connection connection) throws SQLException {
            try (Statement statement = connection.createStatement();
                    ResultSet result = statement.executeQuery(IDENTITY)) {
                result.next();
                return new ServerIdentity(result.getBoolean(1), result.getString(2), result.getString(3),
                        result.getString(4));
            }
        }

        boolean sameCluster(ServerIdentity other) {
            return this.systemIdentifier != null && this.systemIdentifier.equals(other.systemIdentifier);
        }

        /** Whether no crash recovery and no promotion happened between the two readings. */
        boolean sameIncarnation(ServerIdentity other) {
            return sameCluster(other) && this.statsReset != null && this.statsReset.equals(other.statsReset)
                    && this.timeline != null && this.timeline.equals(other.timeline);
        }

    }

    /**
     * What became of a transaction whose commit reply was lost.
     * @param committed whether it committed, when known
     * @param reason why it stays unknown
     */
    record CommitOutcome(@Nullable Boolean committed, String reason) {

        static final CommitOutcome COMMITTED = new CommitOutcome(true, "committed");

        static final CommitOutcome ABORTED = new CommitOutcome(false, "aborted");

        static CommitOutcome unresolved(String reason) {
            return new CommitOutcome(null, reason);
        }

        boolean known() {
            return this.committed != null;
        }

    }

}
