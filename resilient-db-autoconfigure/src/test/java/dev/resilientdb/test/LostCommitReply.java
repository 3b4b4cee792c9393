package dev.resilientdb.test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.sql.DataSource;

import org.springframework.jdbc.datasource.DataSourceUtils;

/**
 * A real "the COMMIT reached the server and committed, but its reply was lost": the client gives up
 * with SQLSTATE 08006 (pgjdbc's "An I/O error occurred", caused by "Read timed out") while the server
 * goes on and commits.
 * <p>
 * {@link #install(PostgresServer, String)} puts a {@code DEFERRABLE INITIALLY DEFERRED} constraint
 * trigger on a table; it sleeps {@value #SERVER_DELAY_SECONDS} s at commit time, once, in a transaction
 * that {@link #arm(DataSource) armed} it. Arming, inside the transaction and as its last statement,
 * also lowers the connection's network timeout (pgjdbc's socket timeout) to {@link #REPLY_TIMEOUT}, so
 * the client stops waiting for the COMMIT's reply long before the server sends it. Nothing breaks the
 * connection before the COMMIT: the server really receives it and really commits.
 * <p>
 * {@link #awaitServerSideCommits()} waits until every armed backend has finished (committed and
 * noticed the client is gone); count rows only after it. Thread-safe.
 */
public final class LostCommitReply {

    /** How long the client waits for any reply once the transaction is armed. */
    public static final Duration REPLY_TIMEOUT = Duration.ofMillis(500);

    private static final int SERVER_DELAY_SECONDS = 2;

    private static final String SETTING = "resilientdb.lose_commit_reply";

    private final PostgresServer server;

    private final Set<Integer> armedBackends = ConcurrentHashMap.newKeySet();

    private final AtomicBoolean nextCommit = new AtomicBoolean();

    private LostCommitReply(PostgresServer server) {
        this.server = server;
    }

    /**
     * Installs the commit-time delay on a table (again, if it is there already).
     * @param server the server the table lives on
     * @param table a table the transactions under test insert into or update
     * @return the fault, to arm from inside those transactions
     */
    public static LostCommitReply install(PostgresServer server, String table) {
        server.execute("CREATE OR REPLACE FUNCTION resilientdb_lose_commit_reply() RETURNS trigger LANGUAGE plpgsql AS $$ "
                + "BEGIN "
                + "IF current_setting('" + SETTING + "', true) = 'on' THEN "
                + "PERFORM set_config('" + SETTING + "', 'off', true); "
                + "PERFORM pg_sleep(" + SERVER_DELAY_SECONDS + "); "
                + "END IF; "
                + "RETURN NULL; "
                + "END $$");
        server.execute("DROP TRIGGER IF EXISTS lose_commit_reply ON " + table);
        server.execute("CREATE CONSTRAINT TRIGGER lose_commit_reply AFTER INSERT OR UPDATE ON " + table
                + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION resilientdb_lose_commit_reply()");
        return new LostCommitReply(server);
    }

    /**
     * Makes the reply of the commit of the transaction bound to the calling thread for this
     * {@code DataSource} get lost. Call it inside that transaction, after its last statement: every
     * later statement on the connection would time out too.
     * @throws IllegalStateException when no transaction on this {@code DataSource} is bound to the thread
     */
    public void arm(DataSource dataSource) {
        Connection connection = DataSourceUtils.getConnection(dataSource);
        try {
            if (!DataSourceUtils.isConnectionTransactional(connection, dataSource)) {
                throw new IllegalStateException(
                        "LostCommitReply.arm needs a transaction on this DataSource bound to the thread");
            }
            try (Statement statement = connection.createStatement();
                    ResultSet result = statement.executeQuery(
                            "SELECT pg_backend_pid(), set_config('" + SETTING + "', 'on', true)")) {
                result.next();
                this.armedBackends.add(result.getInt(1));
            }
            connection.setNetworkTimeout(Runnable::run, (int) REPLY_TIMEOUT.toMillis());
        }
        catch (SQLException ex) {
            throw new IllegalStateException("Could not arm the lost commit reply", ex);
        }
        finally {
            DataSourceUtils.releaseConnection(connection, dataSource);
        }
    }

    /** Makes the next {@link #armIfDue} arm; later ones do nothing until this is called again. */
    public void loseNextCommitReply() {
        this.nextCommit.set(true);
    }

    /**
     * {@linkplain #arm Arms} the current transaction if {@link #loseNextCommitReply()} was called
     * since the last time: code under test calls this in every attempt, the test decides which
     * attempt loses its reply.
     */
    public void armIfDue(DataSource dataSource) {
        if (this.nextCommit.compareAndSet(true, false)) {
            arm(dataSource);
        }
    }

    /** Waits until every armed backend has ended: its commit has happened on the server. */
    public void awaitServerSideCommits() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (Integer pid : Set.copyOf(this.armedBackends)) {
            while (!this.server.queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Backend " + pid + " with a delayed commit is still running after 30 s");
                }
                PostgresServer.sleep(Duration.ofMillis(50));
            }
            this.armedBackends.remove(pid);
        }
        this.nextCommit.set(false);
    }

}
