package dev.resilientdb.retry;

import java.time.Duration;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Spring's JDBC transaction manager rolls back on a connection the pool has already marked broken,
 * and replaces the failure that broke the transaction with the rollback's "Connection is closed",
 * logging "exception overridden by rollback exception" at ERROR with a stack trace. The starter's
 * {@link ResilientJdbcTransactionManager} keeps the failure and logs nothing, and still rolls back on
 * a connection that works. On real PostgreSQL and HikariCP, with backends terminated for real.
 */
@ExtendWith(OutputCaptureExtension.class)
class ResilientJdbcTransactionManagerTests {

    private static final PostgresServer server = PostgresServers.shared();

    private static final String OVERRIDDEN = "overridden by rollback exception";

    private HikariDataSource dataSource;

    private JdbcTemplate jdbc;

    @BeforeEach
    void setUp() {
        server.execute("DROP TABLE IF EXISTS manager_rows");
        server.execute("CREATE TABLE manager_rows (id text NOT NULL)");
        server.execute("GRANT ALL ON manager_rows TO " + PostgresServer.APP_USER);
        this.dataSource = new HikariDataSource();
        this.dataSource.setJdbcUrl(server.jdbcUrl());
        this.dataSource.setUsername(server.username());
        this.dataSource.setPassword(server.password());
        this.dataSource.setMaximumPoolSize(2);
        this.dataSource.setPoolName("manager-tests");
        this.jdbc = new JdbcTemplate(this.dataSource);
    }

    @AfterEach
    void closeDataSource() {
        this.dataSource.close();
    }

    /** Spring's manager, for comparison: what the starter's replaces. */
    @Test
    void springsManagerReplacesAStatementsConnectionFailureWithTheRollbacks(CapturedOutput output) {
        TransactionTemplate transactions = new TransactionTemplate(new JdbcTransactionManager(this.dataSource));
        Throwable thrown = catchThrowable(() -> transactions.executeWithoutResult(status -> loseTheConnection()));
        assertThat(thrown).isInstanceOf(TransactionSystemException.class);
        assertThat(output.getAll()).contains("Application exception " + OVERRIDDEN);
    }

    @Test
    void statementsConnectionFailureIsKept(CapturedOutput output) {
        TransactionTemplate transactions = new TransactionTemplate(new ResilientJdbcTransactionManager(this.dataSource));
        Throwable thrown = catchThrowable(() -> transactions.executeWithoutResult(status -> loseTheConnection()));
        assertThat(thrown).isInstanceOf(DataAccessException.class);
        assertThat(SqlStates.of(thrown)).isEqualTo("57P01");
        assertThat(output.getAll()).doesNotContain(OVERRIDDEN);
        assertThat(server.queryLong("SELECT count(*) FROM manager_rows")).isZero();
    }

    /** Spring's manager, for comparison: a commit that fails on a lost connection. */
    @Test
    void springsManagerReplacesACommitsConnectionFailureWithTheRollbacks(CapturedOutput output) {
        TransactionTemplate transactions = new TransactionTemplate(new JdbcTransactionManager(this.dataSource));
        catchThrowable(() -> transactions.executeWithoutResult(status -> endTheSessionBeforeCommit()));
        assertThat(output.getAll()).contains("Commit exception " + OVERRIDDEN);
    }

    @Test
    void commitsConnectionFailureIsKept(CapturedOutput output) {
        TransactionTemplate transactions = new TransactionTemplate(new ResilientJdbcTransactionManager(this.dataSource));
        Throwable thrown = catchThrowable(() -> transactions.executeWithoutResult(status -> endTheSessionBeforeCommit()));
        assertThat(thrown).isInstanceOf(DataAccessException.class).hasMessageContaining("commit");
        assertThat(SqlStateFailureClassifier.isConnectionFailure(thrown)).as("a connection failure: " + SqlStates.of(thrown))
            .isTrue();
        assertThat(output.getAll()).doesNotContain(OVERRIDDEN);
        assertThat(server.queryLong("SELECT count(*) FROM manager_rows")).isZero();
    }

    /** The session ended without the client knowing: the rollback is what finds out, and its failure is not thrown. */
    @Test
    void applicationFailureIsKeptWhenTheRollbackFindsTheConnectionGone(CapturedOutput output) {
        TransactionTemplate transactions = new TransactionTemplate(new ResilientJdbcTransactionManager(this.dataSource));
        IllegalStateException business = new IllegalStateException("business");
        Throwable thrown = catchThrowable(() -> transactions.executeWithoutResult(status -> {
            this.jdbc.execute("SET LOCAL idle_in_transaction_session_timeout = '200ms'");
            this.jdbc.update("INSERT INTO manager_rows VALUES ('business')");
            awaitBackendGone(this.jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class));
            throw business;
        }));
        assertThat(thrown).isSameAs(business);
        assertThat(output.getAll()).doesNotContain(OVERRIDDEN);
        assertThat(server.queryLong("SELECT count(*) FROM manager_rows")).isZero();
    }

    /**
     * On a connection that works, the rollback runs. Had it been skipped, the row would be committed:
     * resetting auto-commit after the transaction commits the open one on pgjdbc.
     */
    @Test
    void rollsBackOnAWorkingConnection() {
        TransactionTemplate transactions = new TransactionTemplate(new ResilientJdbcTransactionManager(this.dataSource));
        Throwable thrown = catchThrowable(() -> transactions.executeWithoutResult(status -> {
            this.jdbc.update("INSERT INTO manager_rows VALUES ('rolled-back')");
            throw new IllegalStateException("business");
        }));
        assertThat(thrown).hasMessage("business");
        transactions.executeWithoutResult(status -> this.jdbc.update("INSERT INTO manager_rows VALUES ('committed')"));
        assertThat(server.queryColumn("SELECT id FROM manager_rows")).containsExactly("committed");
    }

    /** Ends the connection's backend from another session, then uses the connection: 57P01. */
    private void loseTheConnection() {
        this.jdbc.update("INSERT INTO manager_rows VALUES ('lost')");
        int pid = this.jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class);
        server.terminateBackend(pid);
        this.jdbc.queryForObject("SELECT 1", Integer.class);
    }

    /** Ends the connection's backend from another session after the last statement: the commit gets 57P01. */
    private void endTheSessionBeforeCommit() {
        this.jdbc.update("INSERT INTO manager_rows VALUES ('uncommitted')");
        int pid = this.jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class);
        server.terminateBackend(pid);
    }

    /** Waits, without using the connection, until the server has ended its session, however slowly a loaded machine gets there. */
    private static void awaitBackendGone(int pid) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!server.queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()) {
            assertThat(System.nanoTime()).as("backend " + pid + " still there after 30 s").isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

}
