package dev.resilientdb.autoconfigure;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.DatabaseAvailability;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.retry.DatabaseUnavailableException;
import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.health.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * The {@code db} health behind a real PgBouncer whose {@code default_pool_size} equals the pool's
 * {@code max-size}, in session and in transaction mode, and through PgBouncer's login back-off
 * ({@code server_login_retry}) after PostgreSQL was down behind it. Every answer must come within
 * the health timeout and say what is true.
 */
@ExtendWith(OutputCaptureExtension.class)
class PgBouncerHealthTests {

    private static final int POOL_SIZE = 3;

    /** Bound of one health answer: the 800 ms timeout and a loaded 2-core machine's slack. */
    private static final Duration ANSWER_BOUND = Duration.ofMillis(2500);

    private static PostgresServer server;

    @BeforeAll
    static void startServer() {
        server = PostgresServers.startDedicated();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void sessionModeHealthIsUpOnAnIdlePoolThatHoldsEveryServerConnection() {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.SESSION, POOL_SIZE)) {
            behind(pooler).run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                awaitPoolFilled(pool);
                Health health = timedHealth(context.getBean("dbHealthContributor", HealthIndicator.class));
                assertThat(health.getStatus()).as("%s", health).isEqualTo(Status.UP);
                assertThat(health.getDetails()).containsEntry("reachable", true).containsKey("server");
            });
        }
    }

    @Test
    void sessionModeHealthSaysWhyItCannotCheckWhileThePoolLendsOutEveryServerConnection() {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.SESSION, POOL_SIZE)) {
            behind(pooler).run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                awaitPoolFilled(pool);
                HealthIndicator indicator = context.getBean("dbHealthContributor", HealthIndicator.class);
                List<Connection> held = borrowAll(pool);
                try {
                    Health health = timedHealth(indicator);
                    assertThat(health.getStatus()).as("%s", health).isEqualTo(Status.UNKNOWN);
                    assertThat(String.valueOf(health.getDetails().get("reason"))).as("%s", health)
                        .contains("every pool connection is lent out")
                        .contains("session mode")
                        .contains("default_pool_size");
                    assertThat(health.getDetails()).containsEntry("active", POOL_SIZE).containsEntry("max", POOL_SIZE);
                }
                finally {
                    closeAll(held);
                }
                Health afterwards = timedHealth(indicator);
                assertThat(afterwards.getStatus()).as("%s", afterwards).isEqualTo(Status.UP);
            });
        }
    }

    /**
     * In transaction mode PgBouncer lends a server connection only for a transaction: the probe's own
     * connection gets one while the pool's connections are lent out but between transactions, and none
     * while each of them is inside a transaction.
     */
    @Test
    void transactionModeHealthIsUpBetweenTransactionsAndSaysWhyItCannotCheckWhileEveryServerConnectionIsInOne() {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.TRANSACTION, POOL_SIZE)) {
            behind(pooler).run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                awaitPoolFilled(pool);
                HealthIndicator indicator = context.getBean("dbHealthContributor", HealthIndicator.class);
                List<Connection> held = borrowAll(pool);
                try {
                    Health betweenTransactions = timedHealth(indicator);
                    assertThat(betweenTransactions.getStatus()).as("%s", betweenTransactions).isEqualTo(Status.UP);
                    for (Connection connection : held) {
                        connection.setAutoCommit(false);
                        try (Statement statement = connection.createStatement()) {
                            statement.execute("SELECT 1");
                        }
                    }
                    Health inTransactions = timedHealth(indicator);
                    assertThat(inTransactions.getStatus()).as("%s", inTransactions).isEqualTo(Status.UNKNOWN);
                    assertThat(String.valueOf(inTransactions.getDetails().get("reason"))).as("%s", inTransactions)
                        .contains("every pool connection is lent out")
                        .contains("transaction mode")
                        .contains("default_pool_size");
                    for (Connection connection : held) {
                        connection.rollback();
                    }
                }
                finally {
                    closeAll(held);
                }
                awaitStatus(indicator, Status.UP, Duration.ofSeconds(15));
            });
        }
    }

    /** PgBouncer's default server_login_retry (15 s): health names the back-off while it lasts, and is UP after. */
    @Test
    void healthNamesPgBouncersLoginBackOffAfterARestartAndIsUpWhenItEnds() {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.TRANSACTION, POOL_SIZE, "server_login_retry = 15")) {
            behind(pooler).run(context -> {
                HealthIndicator indicator = context.getBean("dbHealthContributor", HealthIndicator.class);
                awaitStatus(indicator, Status.UP, Duration.ofSeconds(15));
                long backOffSince = putInLoginBackOff(pooler);
                assertNamesLoginBackOff(timedHealth(indicator));
                server.start();
                // PgBouncer tries again when a client comes after server_login_retry: a start-up slower than
                // about 10 s on a loaded machine may end the back-off before health is asked again.
                boolean stillInBackOff = System.nanoTime() - backOffSince < Duration.ofSeconds(10).toNanos();
                List<Health> beforeUp = awaitStatus(indicator, Status.UP, Duration.ofSeconds(40));
                if (stillInBackOff) {
                    assertThat(beforeUp).as("answers while PostgreSQL was back and PgBouncer still refused logins")
                        .isNotEmpty();
                }
                beforeUp.forEach(PgBouncerHealthTests::assertNamesLoginBackOff);
            });
        }
        finally {
            server.start();
        }
    }

    /**
     * Issue 19, point 4: PgBouncer's login back-off (its default server_login_retry, 15 s, longer than the
     * 2 s retry deadline here) is an unavailable database: the state says refusing and names it, calls fail
     * fast with a retry-after once it has lasted open-after, and pass again when PgBouncer logs in again.
     */
    @Test
    void loginBackOffFailsCallsFastOnceItHasLastedOpenAfterAndTheStateNamesIt() {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.TRANSACTION, POOL_SIZE, "server_login_retry = 15")) {
            behind(pooler)
                .withConfiguration(AutoConfigurations.of(DataSourceTransactionManagerAutoConfiguration.class,
                        TransactionAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                        ResilientDbRetryAutoConfiguration.class))
                .withPropertyValues("resilient.db.pool.connection-timeout=1s", "resilient.db.pool.validation-timeout=500ms",
                        "resilient.db.retry.deadline=2s")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    Supplier<Integer> selectOne = () -> template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                    assertThat(selectOne.get()).isEqualTo(1);
                    long backOffSince = putInLoginBackOff(pooler);
                    server.start();
                    DatabaseState state = context.getBean(RetryEngine.class).databaseState(context.getBean(DataSource.class));
                    List<String> fastRefusals = new ArrayList<>();
                    Integer result = null;
                    long giveUpAt = System.nanoTime() + Duration.ofSeconds(40).toNanos();
                    while (result == null && System.nanoTime() < giveUpAt) {
                        long start = System.nanoTime();
                        try {
                            result = selectOne.get();
                        }
                        catch (DatabaseUnavailableException ex) {
                            if (System.nanoTime() - start < Duration.ofSeconds(1).toNanos()) {
                                fastRefusals.add(ex.getMessage());
                            }
                        }
                        catch (RuntimeException ex) {
                            // Attempts during the first open-after of the back-off.
                        }
                        sleep(Duration.ofMillis(100));
                    }
                    assertThat(result).as("a call succeeds once PgBouncer logs in again").isEqualTo(1);
                    // PgBouncer retries about 15 s after the refusal; only a start-up slower than that leaves no time to refuse.
                    if (System.nanoTime() - backOffSince > Duration.ofSeconds(6).toNanos()) {
                        assertThat(fastRefusals).as("calls refused at once during the back-off").isNotEmpty()
                            .allSatisfy(message -> assertThat(message).contains("refusing").contains("server_login_retry"));
                    }
                    assertThat(state.current().availability()).isEqualTo(DatabaseAvailability.UP);
                });
        }
        finally {
            server.start();
        }
    }

    private static void assertNamesLoginBackOff(Health health) {
        assertThat(health.getStatus()).as("%s", health).isEqualTo(Status.DOWN);
        assertThat(String.valueOf(health.getDetails().get("reason"))).as("%s", health)
            .contains("PgBouncer is refusing logins until its next server login attempt (server_login_retry)")
            .contains("lower server_login_retry");
    }

    /** The documented setting (server_login_retry of a second or so): UP again within a few seconds of PostgreSQL. */
    @Test
    void withALowServerLoginRetryHealthIsUpSoonAfterARestartInSessionMode() {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.SESSION, POOL_SIZE, "server_login_retry = 1")) {
            behind(pooler).run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                awaitPoolFilled(pool);
                HealthIndicator indicator = context.getBean("dbHealthContributor", HealthIndicator.class);
                putInLoginBackOff(pooler);
                Health down = timedHealth(indicator);
                assertThat(down.getStatus()).as("%s", down).isEqualTo(Status.DOWN);
                server.start();
                List<Health> seen = awaitStatus(indicator, Status.UP, Duration.ofSeconds(15));
                assertThat(seen).as("answers before UP").allSatisfy(health -> assertThat(health.getStatus()).isEqualTo(Status.DOWN));
            });
        }
        finally {
            server.start();
        }
    }

    @Test
    void startUpAgainstPgBouncerInLoginBackOffNamesServerLoginRetry(CapturedOutput output) throws Exception {
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.TRANSACTION, POOL_SIZE, "server_login_retry = 15")) {
            try (Connection served = DriverManager.getConnection(pooler.jdbcUrl() + "?prepareThreshold=0",
                    PostgresServer.APP_USER, PostgresServer.APP_PASSWORD); Statement statement = served.createStatement()) {
                statement.execute("SELECT 1");
            }
            putInLoginBackOff(pooler);
            assertThatException().isThrownBy(new SpringApplicationBuilder(DatabaseConnectionFailureAnalyzerTests.ConnectingApplication.class)
                .web(WebApplicationType.NONE)
                .properties(pooler.dataSourceProperties())
                .properties("resilient.db.driver.pooler=pgbouncer-transaction", "resilient.db.startup.wait-for-database=2s")::run);
            assertThat(output).contains("server_login_retry");
            assertThat(output).as("a failure analysis").contains("APPLICATION FAILED TO START");
            String report = output.toString().substring(output.toString().indexOf("APPLICATION FAILED TO START"));
            assertThat(report).contains("PgBouncer is refusing logins until its next server login attempt (server_login_retry)")
                .contains("server_login_retry in pgbouncer.ini");
        }
        finally {
            server.start();
        }
    }

    private static ApplicationContextRunner behind(PgBouncer pooler) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                    HealthContributorAutoConfiguration.class, DataSourceHealthContributorAutoConfiguration.class,
                    ResilientDbHealthAutoConfiguration.class))
            .withPropertyValues(pooler.dataSourceProperties())
            .withPropertyValues("resilient.db.driver.application-name=pgbouncer-health",
                    "resilient.db.driver.pooler=pgbouncer-" + pooler.mode().name().toLowerCase(Locale.ROOT),
                    "resilient.db.pool.max-size=" + POOL_SIZE, "resilient.db.pool.connection-timeout=10s",
                    "resilient.db.health.timeout=800ms");
    }

    /**
     * Stops PostgreSQL while clients log in through PgBouncer, as a restart under traffic does: PgBouncer's
     * login to the server that is shutting down fails, and from then on PgBouncer refuses new logins with
     * 08P01 "server login has been failing" until its next attempt. Returns once a login was so refused,
     * with PostgreSQL stopped, the {@link System#nanoTime()} of that refusal. PgBouncer must have served before, as it has in production: one that never
     * reached the server keeps every client waiting at login instead.
     */
    private static long putInLoginBackOff(PgBouncer pooler) throws InterruptedException {
        AtomicLong refusedAt = new AtomicLong();
        AtomicReference<String> lastAnswer = new AtomicReference<>("none");
        AtomicBoolean refused = new AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Thread client = new Thread(() -> {
                while (!refused.get() && !Thread.currentThread().isInterrupted()) {
                    try (Connection connection = DriverManager.getConnection(pooler.jdbcUrl()
                            + "?prepareThreshold=0&connectTimeout=2&loginTimeout=2&socketTimeout=2",
                            PostgresServer.APP_USER, PostgresServer.APP_PASSWORD);
                            Statement statement = connection.createStatement()) {
                        statement.execute("SELECT 1");
                    }
                    catch (SQLException ex) {
                        lastAnswer.set(ex.getSQLState() + " " + ex.getMessage());
                        if (String.valueOf(ex.getMessage()).contains("server_login_retry")) {
                            refusedAt.compareAndSet(0, System.nanoTime());
                            refused.set(true);
                        }
                    }
                    try {
                        Thread.sleep(20);
                    }
                    catch (InterruptedException ex) {
                        return;
                    }
                }
            }, "login-back-off-client-" + i);
            client.setDaemon(true);
            client.start();
            clients.add(client);
        }
        try {
            server.stop();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!refused.get()) {
                assertThat(System.nanoTime()).as("PgBouncer refusing logins with server_login_retry; last answer %s; "
                        + "its log:%n%s", lastAnswer.get(), pooler.log()).isLessThan(deadline);
                sleep(Duration.ofMillis(50));
            }
        }
        finally {
            refused.set(true);
            for (Thread client : clients) {
                client.interrupt();
                client.join(10_000);
            }
        }
        return refusedAt.get();
    }

    private static void awaitPoolFilled(HikariDataSource pool) throws SQLException {
        pool.getConnection().close();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (pool.getHikariPoolMXBean().getIdleConnections() < POOL_SIZE) {
            assertThat(System.nanoTime()).as("pool filled to %d idle connections", POOL_SIZE).isLessThan(deadline);
            sleep(Duration.ofMillis(50));
        }
    }

    private static List<Connection> borrowAll(HikariDataSource pool) throws SQLException {
        List<Connection> held = new ArrayList<>();
        for (int i = 0; i < POOL_SIZE; i++) {
            held.add(pool.getConnection());
        }
        return held;
    }

    private static void closeAll(List<Connection> connections) throws SQLException {
        for (Connection connection : connections) {
            connection.close();
        }
    }

    /** One health answer, which must come within the timeout and the machine's slack. */
    private static Health timedHealth(HealthIndicator indicator) {
        long start = System.nanoTime();
        Health health = indicator.health();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("time to answer %s", health).isLessThan(ANSWER_BOUND);
        return health;
    }

    /** Asks for health until it has the status, within the bound; returns the answers before it. */
    private static List<Health> awaitStatus(HealthIndicator indicator, Status status, Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        List<Health> before = new ArrayList<>();
        Supplier<String> seen = () -> before.isEmpty() ? "none" : before.get(before.size() - 1).toString();
        while (true) {
            Health health = timedHealth(indicator);
            if (health.getStatus().equals(status)) {
                return before;
            }
            before.add(health);
            assertThat(System.nanoTime()).as("health %s within %s; last answer %s", status, bound, seen.get()).isLessThan(deadline);
            sleep(Duration.ofMillis(200));
        }
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
