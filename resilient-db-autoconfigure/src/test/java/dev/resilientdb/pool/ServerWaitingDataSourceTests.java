package dev.resilientdb.pool;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
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
                    starter.awaitRecovery(Duration.ofSeconds(10));
                    plain.awaitRecovery(Duration.ofSeconds(10));

                    server.stop();
                    starter.awaitFailure(Duration.ofSeconds(10));
                    plain.awaitFailure(Duration.ofSeconds(10));
                    Thread.sleep(OUTAGE.toMillis());
                    server.start();
                    long back = server.acceptingConnectionsSince();

                    Duration starterLag = Duration.ofNanos(starter.awaitRecovery(Duration.ofSeconds(15)) - back);
                    Duration plainLag = Duration.ofNanos(plain.awaitRecovery(Duration.ofSeconds(15)) - back);
                    System.out.println("first connection after a " + OUTAGE.toSeconds() + " s outage: starter's pool "
                            + starterLag.toMillis() + " ms, plain HikariCP " + plainLag.toMillis() + " ms");
                    assertThat(starterLag).isGreaterThanOrEqualTo(Duration.ZERO).isLessThan(Duration.ofSeconds(1));
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

    /**
     * Borrows a connection and runs {@code SELECT 1} on it, over and over, remembering when it last
     * failed and when it first succeeded after that: the moment the pool recovered, whenever the test
     * thread gets to look.
     */
    private static final class Borrower implements AutoCloseable {

        private final AtomicBoolean running = new AtomicBoolean(true);

        private final Thread thread;

        /** Whether the last attempt failed; no success yet counts as failing. */
        private volatile boolean failing = true;

        /** {@link System#nanoTime()} of the last success that followed a failure. */
        private volatile long recovered;

        Borrower(DataSource pool) {
            this.thread = new Thread(() -> {
                while (this.running.get()) {
                    try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
                        statement.execute("SELECT 1");
                        if (this.failing) {
                            this.recovered = System.nanoTime();
                            this.failing = false;
                        }
                    }
                    catch (SQLException ex) {
                        // The outage: the pool's connections are gone or none can be had in time.
                        this.failing = true;
                    }
                }
            }, "borrower");
            this.thread.start();
        }

        /** Waits until an attempt fails, so that the next recovery is the one after the outage. */
        void awaitFailure(Duration patience) throws InterruptedException {
            awaitFailing(true, patience);
        }

        /** {@link System#nanoTime()} of the first success after the failures, whenever the test thread gets to look. */
        long awaitRecovery(Duration patience) throws InterruptedException {
            awaitFailing(false, patience);
            return this.recovered;
        }

        private void awaitFailing(boolean expected, Duration patience) throws InterruptedException {
            long giveUpAt = System.nanoTime() + patience.toNanos();
            while (this.failing != expected) {
                assertThat(System.nanoTime() - giveUpAt).as((expected ? "a failure" : "a success") + " within " + patience)
                    .isNegative();
                Thread.sleep(10);
            }
        }

        @Override
        public void close() throws InterruptedException {
            this.running.set(false);
            this.thread.join(10_000);
        }

    }

}
