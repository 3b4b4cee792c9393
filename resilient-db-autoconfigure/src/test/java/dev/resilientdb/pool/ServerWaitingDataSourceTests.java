package dev.resilientdb.pool;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The starter's pool refills as soon as a restarted server answers, on a real server stopped for
 * longer than HikariCP's refill back-off takes to reach its 5 s ceiling. A plain HikariCP pool on
 * the same server, through the same outage, is measured beside it for comparison (printed).
 */
class ServerWaitingDataSourceTests {

    private static final Duration OUTAGE = Duration.ofSeconds(11);

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class));

    @Test
    void poolRefillsWithinASecondOfTheServerReturningAfterALongOutage() {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            this.contextRunner.withPropertyValues(dataSourceProperties(server)).run(context -> {
                HikariDataSource starterPool = context.getBean(HikariDataSource.class);
                assertThat(starterPool.getDataSource()).isInstanceOf(ServerWaitingDataSource.class);
                try (HikariDataSource plainPool = plainPool(server);
                        Borrower starter = new Borrower(starterPool);
                        Borrower plain = new Borrower(plainPool)) {
                    starter.awaitSuccessAfter(System.nanoTime(), Duration.ofSeconds(10));
                    plain.awaitSuccessAfter(System.nanoTime(), Duration.ofSeconds(10));

                    server.stop();
                    Thread.sleep(OUTAGE.toMillis());
                    server.start();
                    long back = System.nanoTime();

                    Duration starterLag = starter.awaitSuccessAfter(back, Duration.ofSeconds(15));
                    Duration plainLag = plain.awaitSuccessAfter(back, Duration.ofSeconds(15));
                    System.out.println("first connection after a " + OUTAGE.toSeconds() + " s outage: starter's pool "
                            + starterLag.toMillis() + " ms, plain HikariCP " + plainLag.toMillis() + " ms");
                    assertThat(starterLag).isLessThan(Duration.ofSeconds(1));
                }
            });
        }
    }

    @Test
    void failuresThatWaitingDoesNotMendFailAtOnce() {
        PostgresServer server = PostgresServers.shared();
        this.contextRunner.withPropertyValues(dataSourceProperties(server))
            // 1ms: the pool's first attempt reaches the caller as it is; started without it (-1ms, the
            // default), a caller would wait connection-timeout for a connection that never comes.
            .withPropertyValues("spring.datasource.password=wrong-password", "resilient.db.pool.connection-timeout=5s",
                    "resilient.db.pool.initialization-fail-timeout=1ms")
            .run(context -> {
                DataSource pool = context.getBean(DataSource.class);
                long start = System.nanoTime();
                assertThatThrownBy(pool::getConnection)
                    .satisfies(ex -> assertThat(SqlStates.of(ex)).as("invalid password").isEqualTo("28P01"));
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
            });
    }

    @Test
    void aPoolWithADataSourceOfItsOwnIsLeftAsItIs() {
        HikariConfig config = new HikariConfig();
        config.setDataSourceClassName("org.postgresql.ds.PGSimpleDataSource");
        assertThat(ServerWaitingDataSource.install(config)).isFalse();
        assertThat(config.getDataSource()).isNull();
    }

    private static String[] dataSourceProperties(PostgresServer server) {
        return new String[] { "spring.datasource.url=" + server.jdbcUrl(),
                "spring.datasource.username=" + server.username(), "spring.datasource.password=" + server.password() };
    }

    private static HikariDataSource plainPool(PostgresServer server) {
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(server.jdbcUrl());
        pool.setUsername(server.username());
        pool.setPassword(server.password());
        pool.setConnectionTimeout(2000);
        pool.setMaximumPoolSize(2);
        pool.setPoolName("plain-hikari");
        return pool;
    }

    /** Borrows a connection and runs {@code SELECT 1} on it, over and over, remembering the last success. */
    private static final class Borrower implements AutoCloseable {

        private final AtomicLong lastSuccess = new AtomicLong();

        private final AtomicBoolean running = new AtomicBoolean(true);

        private final Thread thread;

        Borrower(DataSource pool) {
            this.thread = new Thread(() -> {
                while (this.running.get()) {
                    try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
                        statement.execute("SELECT 1");
                        this.lastSuccess.set(System.nanoTime());
                    }
                    catch (SQLException ex) {
                        // The outage: the pool's connections are gone or none can be had in time.
                    }
                }
            }, "borrower");
            this.thread.start();
        }

        /** Time from {@code since} to the first success after it. */
        Duration awaitSuccessAfter(long since, Duration patience) throws InterruptedException {
            long giveUpAt = System.nanoTime() + patience.toNanos();
            while (this.lastSuccess.get() - since < 0) {
                assertThat(System.nanoTime() - giveUpAt).as("a success within " + patience).isNegative();
                Thread.sleep(10);
            }
            return Duration.ofNanos(Math.max(0, this.lastSuccess.get() - since));
        }

        @Override
        public void close() throws InterruptedException {
            this.running.set(false);
            this.thread.join(10_000);
        }

    }

}
