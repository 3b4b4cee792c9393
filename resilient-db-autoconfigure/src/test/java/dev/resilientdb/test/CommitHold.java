package dev.resilientdb.test;

import java.time.Duration;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Holds a transaction's commit on the server (a deferred constraint trigger sleeps at commit time,
 * before the commit record is written) in a transaction that armed it, so that a fault can strike
 * while the server is committing.
 */
public final class CommitHold {

    private final PostgresServer server;

    private volatile int armedBackend;

    private CommitHold(PostgresServer server) {
        this.server = server;
    }

    public static CommitHold install(PostgresServer server, String table) {
        server.execute("CREATE OR REPLACE FUNCTION resilientdb_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                + "BEGIN IF current_setting('resilientdb.hold_commit', true) = 'on' THEN "
                + "PERFORM set_config('resilientdb.hold_commit', 'off', true); PERFORM pg_sleep(60); END IF; "
                + "RETURN NULL; END $$");
        server.execute("DROP TRIGGER IF EXISTS hold_commit ON " + table);
        server.execute("CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT OR UPDATE ON " + table
                + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION resilientdb_hold_commit()");
        return new CommitHold(server);
    }

    /** Makes the commit of the transaction bound to the thread wait on the server; call it inside. */
    public void arm(DataSource dataSource) {
        JdbcTemplate jdbc = new JdbcTemplate(dataSource);
        this.armedBackend = jdbc.queryForObject(
                "SELECT pg_backend_pid() FROM set_config('resilientdb.hold_commit', 'on', true)", Integer.class);
    }

    /** Waits until an armed commit is being held on the server, and returns its backend's pid. */
    public int awaitHeldCommit() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            int pid = this.armedBackend;
            if (pid != 0 && this.server.queryLong("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid
                    + " AND wait_event = 'PgSleep'") == 1) {
                return pid;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("No commit was held within 30 s");
            }
            PostgresServer.sleep(Duration.ofMillis(20));
        }
    }

}
