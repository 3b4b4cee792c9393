package dev.resilientdb.test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * The harness itself: its faults are real, so that the tests built on it prove something.
 */
class PostgresServerTests {

    private static PostgresServer server;

    @BeforeAll
    static void startServer() {
        server = PostgresServers.startDedicated();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void readyLineIsFoundAfterPgCtlsProgressDotsOnTheSameLine() {
        // pg_ctl's "waiting for server to start...." and the server write to one log file; on a slow
        // start the dots end up at the beginning of the server's own line.
        String log = "waiting for server to start....1796316847.095:LOG:  starting PostgreSQL 17.11\n"
                + ".1796316851.987:LOG:  database system is ready to accept connections\n done\nserver started\n";
        assertThat(PostgresServer.lastReadyInstant(log, false))
            .isEqualTo(java.time.Instant.ofEpochSecond(1796316851L, 987_000_000L));
    }

    @Test
    void applicationRoleConnectsWithItsPasswordAndNotWithAWrongOne() throws SQLException {
        try (Connection connection = server.appConnection()) {
            assertThat(connection.isValid(1)).isTrue();
        }
        assertThatExceptionOfType(SQLException.class)
            .isThrownBy(() -> java.sql.DriverManager.getConnection(server.jdbcUrl(), PostgresServer.APP_USER, "wrong"))
            .satisfies(ex -> assertThat(ex.getSQLState()).isEqualTo("28P01"));
    }

    @Test
    void terminatedBackendIsGoneFromPgStatActivity() throws SQLException {
        try (Connection connection = server.appConnection()) {
            connection.setClientInfo("ApplicationName", "harness-terminate");
            assertThat(server.backendPids("harness-terminate")).hasSize(1);
            assertThat(server.terminateBackends("harness-terminate")).isEqualTo(1);
            assertThatExceptionOfType(SQLException.class).isThrownBy(() -> selectOne(connection))
                .satisfies(ex -> assertThat(ex.getSQLState()).startsWith("57P01".substring(0, 2)));
        }
    }

    @Test
    void restartedServerKeepsPortAndData() throws SQLException {
        server.execute("CREATE TABLE IF NOT EXISTS harness_restart (id int)");
        server.execute("INSERT INTO harness_restart VALUES (1)");
        try (Connection connection = server.appConnection()) {
            server.restart();
            assertThatExceptionOfType(SQLException.class).isThrownBy(() -> selectOne(connection))
                .satisfies(ex -> assertThat(ex.getSQLState()).matches("08.*|57P01"));
        }
        assertThat(server.queryLong("SELECT count(*) FROM harness_restart")).isEqualTo(1);
    }

    @Test
    void killedServerRefusesConnectionsUntilStartedAgain() throws SQLException {
        server.kill();
        assertThatExceptionOfType(SQLException.class).isThrownBy(server::appConnection)
            .satisfies(ex -> assertThat(ex.getSQLState()).startsWith("08"));
        server.start();
        try (Connection connection = server.appConnection()) {
            selectOne(connection);
        }
    }

    @Test
    void everyCommitAcknowledgedBeforeAKillSurvivesIt() throws Exception {
        server.execute("CREATE TABLE IF NOT EXISTS harness_durable (id int PRIMARY KEY)");
        server.execute("GRANT ALL ON harness_durable TO " + PostgresServer.APP_USER);
        java.util.concurrent.atomic.AtomicInteger acknowledged = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.List<Thread> writers = new java.util.ArrayList<>();
        for (int w = 0; w < 4; w++) {
            Thread writer = new Thread(() -> {
                try (Connection connection = server.appConnection(); Statement statement = connection.createStatement()) {
                    while (true) {
                        statement.execute("INSERT INTO harness_durable VALUES (" + next.incrementAndGet() + ")");
                        acknowledged.incrementAndGet();
                    }
                }
                catch (SQLException ex) {
                    // The kill ends every writer.
                }
            });
            writer.start();
            writers.add(writer);
        }
        Thread.sleep(1500);
        server.kill();
        for (Thread writer : writers) {
            writer.join(10_000);
        }
        server.start();
        assertThat(server.queryLong("SELECT count(*) FROM harness_durable")).isGreaterThanOrEqualTo(acknowledged.get());
    }

    @Test
    void pausedServerDoesNotAnswerUntilResumed() throws Exception {
        try (Connection connection = server.appConnection()) {
            connection.setNetworkTimeout(Runnable::run, 1000);
            server.pause();
            try {
                assertThatExceptionOfType(SQLException.class).isThrownBy(() -> selectOne(connection))
                    .satisfies(ex -> assertThat(ex.getSQLState()).startsWith("08"));
            }
            finally {
                server.resume();
            }
        }
        try (Connection connection = server.appConnection()) {
            selectOne(connection);
        }
    }

    @Test
    void serverSaysWhenItWasBackAndNoConnectionSucceedsBeforeThat() throws Exception {
        AtomicBoolean down = new AtomicBoolean();
        AtomicBoolean polling = new AtomicBoolean(true);
        CompletableFuture<Long> firstConnectionAfterTheOutage = CompletableFuture.supplyAsync(() -> {
            while (polling.get()) {
                boolean wasDown = down.get();
                try (Connection connection = server.appConnection()) {
                    if (wasDown) {
                        return System.nanoTime();
                    }
                }
                catch (SQLException ex) {
                    // Down, or starting up: the next attempt counts.
                    LockSupport.parkNanos(1_000_000);
                }
            }
            return null;
        });
        server.stop();
        down.set(true);
        long starting = System.nanoTime();
        server.start();
        long started = System.nanoTime();
        long connected = firstConnectionAfterTheOutage.get(30, TimeUnit.SECONDS);
        polling.set(false);
        long back = server.acceptingConnectionsSince();
        assertThat(back).isBetween(starting, started);
        assertThat(connected).as("first connection after the restart, not before the server said it was back")
            .isGreaterThanOrEqualTo(back);
    }

    @Test
    void startFailsClearlyWhenAnotherProcessTookThePortWhileTheServerWasStopped() throws IOException, SQLException {
        server.stop();
        try (ServerSocket otherBuild = new ServerSocket()) {
            otherBuild.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
            assertThatIllegalStateException().isThrownBy(server::start)
                .withMessageContaining("Port " + server.port())
                .withMessageContaining("in use by another process");
        }
        server.start();
        try (Connection connection = server.appConnection()) {
            selectOne(connection);
        }
    }

    @Test
    void reservedPortsAreDistinctFreeAndOutsideTheEphemeralRange() {
        try (PortReservation first = PortReservation.reserve(); PortReservation second = PortReservation.reserve()) {
            assertThat(first.port()).isNotEqualTo(second.port()).isNotEqualTo(server.port());
            assertThat(first.port()).isBetween(PortReservation.FIRST_PORT, PortReservation.LAST_PORT).isLessThan(32768);
            assertThat(PortReservation.isFree(first.port())).isTrue();
        }
    }

    private static void selectOne(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT 1");
        }
    }

}
