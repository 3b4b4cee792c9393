package dev.resilientdb.autoconfigure;

import java.lang.reflect.Field;
import java.net.Socket;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.core.PGStream;
import org.postgresql.core.QueryExecutorBase;
import org.postgresql.jdbc.PgConnection;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Each {@code resilient.db.pool.*} and {@code resilient.db.driver.*} setting observed taking effect on
 * a real PostgreSQL server: in the server's own view ({@code SHOW}, {@code pg_stat_activity}), in the
 * driver's sockets, and in how the pool behaves.
 */
@ExtendWith(OutputCaptureExtension.class)
class PoolSettingsIntegrationTests {

    private static final String APPLICATION_NAME = "pool-settings-it";

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl(),
                "spring.datasource.username=" + this.server.username(),
                "spring.datasource.password=" + this.server.password(),
                "resilient.db.driver.application-name=" + APPLICATION_NAME);

    @Test
    void statementTimeoutIsEnforcedByTheServerOnEveryPooledConnection() {
        this.contextRunner.withPropertyValues("resilient.db.driver.statement-timeout=500ms",
                "resilient.db.driver.socket-timeout=5s")
            .run(context -> {
                HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
                    assertThat(show(statement, "statement_timeout")).isEqualTo("500ms");
                    assertThatExceptionOfType(SQLException.class)
                        .isThrownBy(() -> statement.execute("SELECT pg_sleep(3)"))
                        .satisfies(ex -> assertThat(ex.getSQLState()).isEqualTo("57014"));
                }
            });
    }

    @Test
    void applicationNameAndPoolSizesShowInPgStatActivity() {
        this.contextRunner.withPropertyValues("resilient.db.pool.max-size=4", "resilient.db.pool.min-idle=2")
            .run(context -> {
                HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                dataSource.getConnection().close();
                // HikariCP fills to min-idle in the background. If its first fill runs while the connection above is
                // still borrowed, it adds one more than min-idle, so 2 or 3 (not max-size) is what min-idle=2 gives.
                var pool = dataSource.getHikariPoolMXBean();
                awaitServerConnections(() -> pool.getIdleConnections() >= 2 && serverConnections() == pool.getTotalConnections());
                assertThat(serverConnections()).isBetween(2L, 3L);
                List<Connection> borrowed = new ArrayList<>();
                try {
                    for (int i = 0; i < 4; i++) {
                        borrowed.add(dataSource.getConnection());
                    }
                    assertThat(serverConnections()).isEqualTo(4);
                    assertThatExceptionOfType(SQLTransientConnectionException.class).isThrownBy(dataSource::getConnection);
                    assertThat(serverConnections()).isEqualTo(4);
                }
                finally {
                    for (Connection connection : borrowed) {
                        connection.close();
                    }
                }
            });
    }

    @Test
    void connectionTimeoutBoundsTheWaitForAnExhaustedPool() {
        this.contextRunner.withPropertyValues("resilient.db.pool.max-size=1", "resilient.db.pool.connection-timeout=600ms",
                "resilient.db.pool.validation-timeout=250ms")
            .run(context -> {
                HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                try (Connection held = dataSource.getConnection()) {
                    long start = System.nanoTime();
                    assertThatExceptionOfType(SQLTransientConnectionException.class).isThrownBy(dataSource::getConnection);
                    Duration waited = Duration.ofNanos(System.nanoTime() - start);
                    assertThat(waited).isBetween(Duration.ofMillis(550), Duration.ofSeconds(10));
                }
            });
    }

    @Test
    void socketTimeoutAndTcpKeepAliveAreSetOnTheDriversSocket() {
        this.contextRunner.withPropertyValues("resilient.db.driver.socket-timeout=7s", "resilient.db.driver.statement-timeout=5s")
            .run(context -> {
                try (Connection connection = context.getBean(HikariDataSource.class).getConnection()) {
                    Socket socket = socketOf(connection);
                    assertThat(socket.getSoTimeout()).isEqualTo(7_000);
                    assertThat(socket.getKeepAlive()).isTrue();
                    assertThat(connection.getNetworkTimeout()).isEqualTo(7_000);
                }
            });
    }

    @Test
    void tcpKeepAliveCanBeTurnedOff() {
        this.contextRunner.withPropertyValues("resilient.db.driver.tcp-keep-alive=false").run(context -> {
            try (Connection connection = context.getBean(HikariDataSource.class).getConnection()) {
                assertThat(socketOf(connection).getKeepAlive()).isFalse();
            }
        });
    }

    @Test
    void socketTimeoutEndsAQueryToAHungServer() {
        try (PostgresServer hung = PostgresServers.startDedicated()) {
            this.contextRunner
                .withPropertyValues("spring.datasource.url=" + hung.jdbcUrl(), "resilient.db.driver.socket-timeout=2s",
                        "resilient.db.driver.statement-timeout=1s")
                .run(context -> {
                    HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                    try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
                        hung.pause();
                        long start = System.nanoTime();
                        try {
                            assertThatExceptionOfType(SQLException.class).isThrownBy(() -> statement.execute("SELECT 1"))
                                .satisfies(ex -> assertThat(ex.getSQLState()).startsWith("08"));
                        }
                        finally {
                            hung.resume();
                        }
                        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(1_900),
                                Duration.ofSeconds(20));
                    }
                });
        }
    }

    /** Issue 12, item 7: {@code options} in the JDBC URL would replace the starter's; both apply, and the start-up line says so. */
    @Test
    void optionsInTheJdbcUrlAreMergedWithTheStatementTimeout(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl() + "?options=-c%20search_path%3Dpublic",
                    "resilient.db.driver.statement-timeout=700ms")
            .run(context -> {
                HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
                    assertThat(show(statement, "statement_timeout")).isEqualTo("700ms");
                    assertThat(show(statement, "search_path")).isEqualTo("public");
                }
                assertThat(output.getAll()).contains("options='-c search_path=public -c statement_timeout=700'");
            });
    }

    /** Issue 12, item 7: a statement_timeout in the URL's {@code options} is the user's choice, and the start-up line shows it. */
    @Test
    void statementTimeoutInTheJdbcUrlWinsAndTheStartupLineShowsIt(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl() + "?options=-c%20statement_timeout%3D0")
            .run(context -> {
                HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
                    assertThat(show(statement, "statement_timeout")).isEqualTo("0");
                }
                assertThat(output.getAll()).contains("options='-c statement_timeout=0'")
                    .doesNotContain("statement_timeout=30000");
            });
    }

    @Test
    void leakDetectionThresholdReportsAConnectionHeldTooLong(CapturedOutput output) {
        this.contextRunner.withPropertyValues("resilient.db.pool.leak-detection-threshold=2s").run(context -> {
            try (Connection connection = context.getBean(HikariDataSource.class).getConnection()) {
                awaitOutput(output, "Connection leak detection triggered", Duration.ofSeconds(10));
            }
        });
    }

    /** 1ms: the first connection attempt's own error at once; -1: the pool starts and callers wait the connection timeout. */
    @Test
    void initializationFailTimeoutDecidesWhetherAnUnreachableDatabaseFailsAtOnce() {
        String unreachable = "spring.datasource.url=jdbc:postgresql://localhost:1/app";
        this.contextRunner.withPropertyValues(unreachable, "resilient.db.pool.initialization-fail-timeout=1ms")
            .run(context -> assertThatExceptionOfType(SQLException.class)
                .isThrownBy(() -> context.getBean(HikariDataSource.class).getConnection())
                .isNotInstanceOf(SQLTransientConnectionException.class)
                .satisfies(ex -> assertThat(ex.getSQLState()).isEqualTo("08001")));
        this.contextRunner.withPropertyValues(unreachable, "resilient.db.pool.initialization-fail-timeout=-1ms")
            .run(context -> assertThatExceptionOfType(SQLTransientConnectionException.class)
                .isThrownBy(() -> context.getBean(HikariDataSource.class).getConnection()));
    }

    @Test
    void runningPoolKeepsEveryConfiguredTimeoutAsGiven() {
        this.contextRunner
            .withPropertyValues("resilient.db.pool.max-size=3", "resilient.db.pool.min-idle=1",
                    "resilient.db.pool.idle-timeout=45s", "resilient.db.pool.max-lifetime=20m",
                    "resilient.db.pool.keepalive-time=45s", "resilient.db.pool.validation-timeout=400ms",
                    "resilient.db.pool.connection-timeout=1500ms", "resilient.db.pool.name=settings-pool")
            .run(context -> {
                HikariDataSource dataSource = context.getBean(HikariDataSource.class);
                try (Connection connection = dataSource.getConnection()) {
                    assertThat(connection.isValid(1)).isTrue();
                }
                var running = dataSource.getHikariConfigMXBean();
                assertThat(running.getPoolName()).isEqualTo("settings-pool");
                assertThat(running.getMaximumPoolSize()).isEqualTo(3);
                assertThat(running.getMinimumIdle()).isEqualTo(1);
                assertThat(running.getIdleTimeout()).isEqualTo(45_000);
                assertThat(running.getMaxLifetime()).isEqualTo(1_200_000);
                assertThat(dataSource.getKeepaliveTime()).isEqualTo(45_000);
                assertThat(running.getValidationTimeout()).isEqualTo(400);
                assertThat(running.getConnectionTimeout()).isEqualTo(1_500);
            });
    }

    private long serverConnections() {
        return this.server.backendPids(APPLICATION_NAME).size();
    }

    private void awaitServerConnections(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(condition.getAsBoolean()).as("pool and server agree, with min-idle connections idle").isTrue();
    }

    private static void awaitOutput(CapturedOutput output, String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!output.getAll().contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(output.getAll()).contains(text);
    }

    private static String show(Statement statement, String setting) throws SQLException {
        try (var resultSet = statement.executeQuery("SHOW " + setting)) {
            resultSet.next();
            return resultSet.getString(1);
        }
    }

    /** The driver's own socket, read through its internals: the only place its options can be seen. */
    private static Socket socketOf(Connection connection) throws Exception {
        QueryExecutorBase executor = (QueryExecutorBase) connection.unwrap(PgConnection.class).getQueryExecutor();
        Field stream = QueryExecutorBase.class.getDeclaredField("pgStream");
        stream.setAccessible(true);
        return ((PGStream) stream.get(executor)).getSocket();
    }

}
