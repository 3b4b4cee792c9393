package dev.resilientdb.autoconfigure;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The starter's pool behind a real PgBouncer (1.18 on Debian: refuses any {@code options} startup
 * parameter, no protocol-level prepared statements) in session and in transaction mode, in front of a
 * real PostgreSQL.
 */
@ExtendWith(OutputCaptureExtension.class)
class PgBouncerTests {

    private static final String APPLICATION_NAME = "pgbouncer-it";

    private static final int THREADS = 16;

    private static final int ROUNDS = 150;

    private static PostgresServer server;

    private static PgBouncer transactionPooler;

    private static PgBouncer sessionPooler;

    @BeforeAll
    static void startPoolers() {
        server = PostgresServers.shared();
        transactionPooler = PgBouncer.start(server, PoolMode.TRANSACTION, 4);
        sessionPooler = PgBouncer.start(server, PoolMode.SESSION, 20);
    }

    @AfterAll
    static void stopPoolers() {
        if (transactionPooler != null) {
            transactionPooler.close();
        }
        if (sessionPooler != null) {
            sessionPooler.close();
        }
    }

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS pooled_rows");
        server.execute("CREATE TABLE pooled_rows (id bigint PRIMARY KEY, worker int NOT NULL, payload text NOT NULL)");
        server.execute("GRANT ALL ON pooled_rows TO " + PostgresServer.APP_USER);
    }

    private static ApplicationContextRunner behind(PgBouncer pooler) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                    DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                    TransactionAutoConfiguration.class, ResilientDbAutoConfiguration.class))
            .withPropertyValues(pooler.dataSourceProperties())
            .withPropertyValues("resilient.db.driver.application-name=" + APPLICATION_NAME,
                    "resilient.db.driver.pooler=pgbouncer-" + pooler.mode().name().toLowerCase(Locale.ROOT),
                    // A SCRAM login through PgBouncer takes a while on a loaded 2-core machine, and the pool fills
                    // one connection at a time: a test's first burst of threads must not time out waiting for it.
                    "resilient.db.pool.connection-timeout=10s");
    }

    @Test
    void withoutPoolerModeTheStarterPoolCannotConnectThroughPgBouncerAndTheFailureSaysWhatToSet() {
        behind(transactionPooler).withPropertyValues("resilient.db.driver.pooler=none").run(context -> {
            assertThatExceptionOfType(SQLException.class)
                .isThrownBy(() -> context.getBean(HikariDataSource.class).getConnection().close())
                .satisfies(ex -> assertThat((Throwable) ex).rootCause().hasMessageContaining("unsupported startup parameter: options"))
                .satisfies(ex -> {
                    FailureAnalysis analysis = new PoolerRefusedStartupParameterFailureAnalyzer()
                        .analyze(new IllegalStateException("Failed to initialize pool", ex));
                    assertThat(analysis).isNotNull();
                    assertThat(analysis.getDescription()).contains("PgBouncer")
                        .contains("unsupported startup parameter: options");
                    assertThat(analysis.getAction()).contains("Set resilient.db.driver.pooler to pgbouncer-transaction");
                });
        });
    }

    @Test
    void starterPoolConnectsThroughPgBouncerInTransactionModeAndSaysSo(CapturedOutput output) {
        behind(transactionPooler).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(selectOne(context.getBean(HikariDataSource.class))).isEqualTo(1);
            assertThat(output).contains("pooler=pgbouncer-transaction, statement-timeout=30000ms per Spring-managed "
                    + "transaction (SET LOCAL), isolation-level=per transaction, prepare-threshold=0")
                .doesNotContain("options='");
        });
    }

    @Test
    void starterPoolConnectsThroughPgBouncerInSessionModeAndSaysSo(CapturedOutput output) {
        behind(sessionPooler).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(selectOne(context.getBean(HikariDataSource.class))).isEqualTo(1);
            assertThat(output).contains("pooler=pgbouncer-session, statement-timeout=30000ms per connection "
                    + "(connection-init-sql 'SET statement_timeout = 30000')");
        });
    }

    @Test
    void transactionModeEnforcesTheStatementTimeoutInEveryTransactionAndLeavesNoSessionStateBehind() {
        behind(transactionPooler).withPropertyValues("resilient.db.driver.statement-timeout=500ms",
                "resilient.db.driver.socket-timeout=5s")
            .run(context -> {
                TransactionTemplate transactions = context.getBean(TransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                for (int i = 0; i < 3; i++) {
                    String inTransaction = transactions.execute(status -> jdbc.queryForObject("SHOW statement_timeout", String.class));
                    assertThat(inTransaction).isEqualTo("500ms");
                    assertThatExceptionOfType(Exception.class)
                        .isThrownBy(() -> transactions.executeWithoutResult(status -> jdbc.execute("SELECT pg_sleep(3)")))
                        .satisfies(ex -> assertThat(sqlState(ex)).isEqualTo("57014"));
                }
                // SET LOCAL ends with its transaction: no server connection keeps it for other clients.
                assertThat(jdbc.queryForObject("SHOW statement_timeout", String.class)).isEqualTo("0");
                try (Connection other = DriverManager.getConnection(transactionPooler.jdbcUrl() + "?prepareThreshold=0",
                        PostgresServer.APP_USER, PostgresServer.APP_PASSWORD)) {
                    for (int i = 0; i < 8; i++) {
                        try (Statement statement = other.createStatement();
                                ResultSet result = statement.executeQuery("SHOW statement_timeout")) {
                            result.next();
                            assertThat(result.getString(1)).isEqualTo("0");
                        }
                    }
                }
            });
    }

    /**
     * pgjdbc sets a transaction's isolation with SET SESSION CHARACTERISTICS before BEGIN: behind transaction
     * pooling that runs on whichever server connection is free, and the transaction on another one.
     */
    @Test
    void eachTransactionRunsAtItsOwnIsolationLevelBehindTransactionPooling() throws Exception {
        behind(transactionPooler).run(context -> {
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            TransactionTemplate readCommitted = context.getBean(TransactionTemplate.class);
            TransactionTemplate serializable = new TransactionTemplate(readCommitted.getTransactionManager());
            serializable.setIsolationLevel(TransactionDefinition.ISOLATION_SERIALIZABLE);
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            ExecutorService executor = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> workers = new ArrayList<>();
                for (int worker = 0; worker < 8; worker++) {
                    boolean strict = worker % 2 == 0;
                    workers.add(executor.submit(() -> {
                        for (int round = 0; round < 50; round++) {
                            String expected = strict ? "serializable" : "read committed";
                            String actual = (strict ? serializable : readCommitted)
                                .execute(status -> jdbc.queryForObject("SHOW transaction_isolation", String.class));
                            if (!expected.equals(actual)) {
                                wrong.add(expected + " ran as " + actual);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> worker : workers) {
                    worker.get(2, TimeUnit.MINUTES);
                }
            }
            finally {
                executor.shutdownNow();
            }
            assertThat(wrong).isEmpty();
        });
    }

    @Test
    void sessionModeEnforcesTheStatementTimeoutOnEveryStatement() {
        behind(sessionPooler).withPropertyValues("resilient.db.driver.statement-timeout=500ms",
                "resilient.db.driver.socket-timeout=5s")
            .run(context -> {
                TransactionTemplate transactions = context.getBean(TransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                assertThat(jdbc.queryForObject("SHOW statement_timeout", String.class)).isEqualTo("500ms");
                assertThatExceptionOfType(Exception.class).isThrownBy(() -> jdbc.execute("SELECT pg_sleep(3)"))
                    .satisfies(ex -> assertThat(sqlState(ex)).isEqualTo("57014"));
                assertThatExceptionOfType(Exception.class)
                    .isThrownBy(() -> transactions.executeWithoutResult(status -> jdbc.execute("SELECT pg_sleep(3)")))
                    .satisfies(ex -> assertThat(sqlState(ex)).isEqualTo("57014"));
            });
    }

    @Test
    void parameterizedStatementsUnderLoadInTransactionModeHaveNoErrorsAndExactCounts() throws Exception {
        behind(transactionPooler).run(context -> {
            assertThat(runLoad(context.getBean(TransactionTemplate.class), context.getBean(JdbcTemplate.class))).isEmpty();
            assertExactCounts();
        });
    }

    @Test
    void parameterizedStatementsUnderLoadInSessionModeHaveNoErrorsAndExactCounts() throws Exception {
        behind(sessionPooler).run(context -> {
            assertThat(runLoad(context.getBean(TransactionTemplate.class), context.getBean(JdbcTemplate.class))).isEmpty();
            assertExactCounts();
        });
    }

    /** Why the starter turns server-side prepared statements off: pgjdbc's defaults fail behind transaction pooling. */
    @Test
    void withServerSidePreparedStatementsTheSameLoadFailsBehindTransactionPooling() throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(transactionPooler.jdbcUrl());
        config.setUsername(PostgresServer.APP_USER);
        config.setPassword(PostgresServer.APP_PASSWORD);
        config.setMaximumPoolSize(10);
        try (HikariDataSource plain = new HikariDataSource(config)) {
            List<Throwable> errors = runLoad(new TransactionTemplate(
                    new org.springframework.jdbc.support.JdbcTransactionManager(plain)), new JdbcTemplate(plain));
            assertThat(errors).isNotEmpty();
            assertThat(errors).anySatisfy(error -> assertThat(messages(error)).containsPattern("prepared statement \"S_\\d+\""));
        }
    }

    @Test
    void optionsInTheUrlFailStartUpWithWhatToChange() {
        behind(transactionPooler)
            .withPropertyValues("spring.datasource.url=" + transactionPooler.jdbcUrl() + "?options=-c%20search_path=app")
            .run(context -> {
                assertThat(context).hasFailed();
                FailureAnalysis analysis = analyze(context.getStartupFailure());
                assertThat(analysis.getDescription()).contains("resilient.db.driver.pooler is pgbouncer-transaction")
                    .contains("spring.datasource.url").contains("options");
                assertThat(analysis.getAction()).contains("Remove options from spring.datasource.url")
                    .contains("resilient.db.driver.statement-timeout");
            });
    }

    @Test
    void optionsInDataSourcePropertiesFailStartUpInSessionModeToo() {
        behind(sessionPooler)
            .withPropertyValues("spring.datasource.hikari.data-source-properties.options=-c lock_timeout=1000")
            .run(context -> {
                assertThat(context).hasFailed();
                FailureAnalysis analysis = analyze(context.getStartupFailure());
                assertThat(analysis.getDescription()).contains("pgbouncer-session")
                    .contains("spring.datasource.hikari.data-source-properties.options");
                assertThat(analysis.getAction()).contains("ALTER ROLE");
            });
    }

    @Test
    void connectionInitSqlFailsStartUpInTransactionMode() {
        behind(transactionPooler).withPropertyValues("spring.datasource.hikari.connection-init-sql=SET search_path = app")
            .run(context -> {
                assertThat(context).hasFailed();
                FailureAnalysis analysis = analyze(context.getStartupFailure());
                assertThat(analysis.getDescription()).contains("resilient.db.driver.pooler is pgbouncer-transaction")
                    .contains("spring.datasource.hikari.connection-init-sql");
                assertThat(analysis.getAction()).contains("Remove spring.datasource.hikari.connection-init-sql")
                    .contains("ALTER ROLE");
            });
    }

    @Test
    void connectionInitSqlRunsOnEveryConnectionInSessionMode() {
        behind(sessionPooler).withPropertyValues("spring.datasource.hikari.connection-init-sql=SET search_path = app")
            .run(context -> {
                assertThat(context).hasNotFailed();
                JdbcTemplate jdbc = new JdbcTemplate(context.getBean(HikariDataSource.class));
                assertThat(jdbc.queryForObject("SHOW search_path", String.class)).isEqualTo("app");
            });
    }

    /** PgBouncer 1.21 and later can carry prepared statements (max_prepared_statements): an explicit threshold is kept. */
    @Test
    void anExplicitPrepareThresholdIsKeptWithAWarningInTransactionMode(CapturedOutput output) {
        behind(transactionPooler).withPropertyValues("spring.datasource.hikari.data-source-properties.prepareThreshold=5")
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBean(HikariDataSource.class).getDataSourceProperties())
                    .containsEntry("prepareThreshold", "5");
                assertThat(output).contains("keeps prepareThreshold=5")
                    .contains("only with PgBouncer 1.21 or later and max_prepared_statements above 0");
            });
    }

    private static List<Throwable> runLoad(TransactionTemplate transactions, JdbcTemplate jdbc) throws Exception {
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        ExecutorService executor = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int worker = 0; worker < THREADS; worker++) {
                int id = worker;
                workers.add(executor.submit(() -> {
                    start.await();
                    for (int round = 0; round < ROUNDS; round++) {
                        long key = id * 1_000_000L + round;
                        try {
                            transactions.executeWithoutResult(status -> {
                                jdbc.update("INSERT INTO pooled_rows (id, worker, payload) VALUES (?, ?, ?)", key, id, "row " + key);
                                Integer mine = jdbc.queryForObject("SELECT count(*) FROM pooled_rows WHERE worker = ? AND id <= ?",
                                        Integer.class, id, key);
                                if (mine == null || mine != (int) (key - id * 1_000_000L) + 1) {
                                    throw new IllegalStateException("worker " + id + " sees " + mine + " rows at round " + key);
                                }
                            });
                            // Autocommit, outside any transaction, too.
                            jdbc.queryForObject("SELECT payload FROM pooled_rows WHERE id = ?", String.class, key);
                        }
                        catch (RuntimeException ex) {
                            errors.add(ex);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> worker : workers) {
                worker.get(3, TimeUnit.MINUTES);
            }
        }
        finally {
            executor.shutdownNow();
        }
        return new ArrayList<>(errors);
    }

    private static void assertExactCounts() {
        assertThat(server.queryLong("SELECT count(*) FROM pooled_rows")).isEqualTo((long) THREADS * ROUNDS);
        assertThat(server.queryLong("SELECT count(DISTINCT worker) FROM pooled_rows")).isEqualTo(THREADS);
        assertThat(server.queryLong("SELECT max(c) FROM (SELECT count(*) AS c FROM pooled_rows GROUP BY worker) AS w"))
            .isEqualTo(ROUNDS);
    }

    private static int selectOne(DataSource dataSource) throws SQLException {
        try (Connection connection = dataSource.getConnection();
                Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery("SELECT 1")) {
            result.next();
            return result.getInt(1);
        }
    }

    private static FailureAnalysis analyze(Throwable failure) {
        FailureAnalysis analysis = new IncompatibleWithPoolerFailureAnalyzer().analyze(failure);
        assertThat(analysis).as("failure analysis of %s", failure).isNotNull();
        return analysis;
    }

    private static String sqlState(Throwable failure) {
        for (Throwable current = failure; current != null; current = current.getCause()) {
            if (current instanceof SQLException sql) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    private static String messages(Throwable failure) {
        StringBuilder result = new StringBuilder();
        for (Throwable current = failure; current != null; current = current.getCause()) {
            result.append(current.getMessage()).append('\n');
        }
        return result.toString();
    }

}
