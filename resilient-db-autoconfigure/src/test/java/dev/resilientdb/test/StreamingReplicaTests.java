package dev.resilientdb.test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.resilientdb.test.StreamingReplica.Replication;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The primary/standby harness itself: the standby is a real streaming replica, promotion makes it
 * writable, and the former primary comes back as a standby or as a read-only server.
 */
class StreamingReplicaTests {

    @Test
    void rowWrittenOnThePrimaryIsReadOnTheStandbyWhichRefusesWrites() throws SQLException {
        try (StreamingReplica pair = StreamingReplica.start(Replication.SYNCHRONOUS)) {
            pair.primary().execute("CREATE TABLE replicated (id int PRIMARY KEY)");
            pair.primary().execute("INSERT INTO replicated VALUES (1)");
            // Synchronous: flushed on the standby before the commit returned; replayed a moment later.
            pair.awaitReplayed();
            assertThat(pair.standby().queryLong("SELECT count(*) FROM replicated")).isEqualTo(1);
            assertThat(pair.standby().queryColumn("SELECT pg_is_in_recovery()")).containsExactly("t");
            assertThatExceptionOfType(IllegalStateException.class)
                .isThrownBy(() -> pair.standby().execute("INSERT INTO replicated VALUES (2)"))
                .havingCause().isInstanceOf(SQLException.class)
                .satisfies(ex -> assertThat(((SQLException) ex).getSQLState()).isEqualTo("25006"));
        }
    }

    @Test
    void switchoverPromotesTheStandbyAndTheOldPrimaryFollowsIt() throws SQLException {
        try (StreamingReplica pair = StreamingReplica.start(Replication.SYNCHRONOUS)) {
            PostgresServer oldPrimary = pair.primary();
            PostgresServer oldStandby = pair.standby();
            oldPrimary.execute("CREATE TABLE switched (id int PRIMARY KEY)");
            oldPrimary.execute("INSERT INTO switched VALUES (1)");
            assertThat(serverPortThroughTheMultiHostUrl(pair)).isEqualTo(oldPrimary.port());

            oldPrimary.stop();
            pair.promoteStandby();
            assertThat(pair.primary()).isSameAs(oldStandby);
            pair.primary().execute("INSERT INTO switched VALUES (2)");
            assertThat(serverPortThroughTheMultiHostUrl(pair)).isEqualTo(oldStandby.port());

            pair.rejoinAsStandby(oldPrimary);
            pair.primary().execute("INSERT INTO switched VALUES (3)");
            pair.awaitReplayed();
            assertThat(oldPrimary.queryColumn("SELECT pg_is_in_recovery()")).containsExactly("t");
            assertThat(oldPrimary.queryLong("SELECT count(*) FROM switched")).isEqualTo(3);
            assertThat(serverPortThroughTheMultiHostUrl(pair)).isEqualTo(oldStandby.port());
        }
    }

    @Test
    void killedPrimaryStaysBehindThePromotedStandbyAndComesBackRefusingWrites() throws SQLException {
        try (StreamingReplica pair = StreamingReplica.start(Replication.SYNCHRONOUS)) {
            PostgresServer oldPrimary = pair.primary();
            oldPrimary.execute("CREATE TABLE killed (id int PRIMARY KEY)");
            oldPrimary.execute("INSERT INTO killed VALUES (1)");
            oldPrimary.kill();
            long readWrite = pair.promoteStandby();
            assertThat(readWrite).isLessThanOrEqualTo(System.nanoTime());
            // Every commit the killed primary acknowledged had reached the standby first.
            assertThat(pair.primary().queryLong("SELECT count(*) FROM killed")).isEqualTo(1);

            pair.startReadOnly(oldPrimary);
            try (Connection connection = DriverManager.getConnection(oldPrimary.jdbcUrl(), PostgresServer.APP_USER,
                    PostgresServer.APP_PASSWORD); Statement statement = connection.createStatement()) {
                assertThatExceptionOfType(SQLException.class)
                    .isThrownBy(() -> statement.execute("INSERT INTO killed VALUES (2)"))
                    .satisfies(ex -> assertThat(ex.getSQLState()).isEqualTo("25006"));
            }
            assertThat(serverPortThroughTheMultiHostUrl(pair)).isEqualTo(pair.primary().port());
        }
    }

    @Test
    void fencedPrimaryRefusesWritesOnSessionsItAlreadyHad() throws SQLException {
        try (StreamingReplica pair = StreamingReplica.start(Replication.ASYNCHRONOUS)) {
            pair.primary().execute("CREATE TABLE fenced (id int PRIMARY KEY)");
            pair.primary().execute("GRANT ALL ON fenced TO " + PostgresServer.APP_USER);
            try (Connection connection = DriverManager.getConnection(pair.jdbcUrl(), PostgresServer.APP_USER,
                    PostgresServer.APP_PASSWORD); Statement statement = connection.createStatement()) {
                statement.execute("INSERT INTO fenced VALUES (1)");
                pair.fencePrimary();
                assertThatExceptionOfType(SQLException.class)
                    .isThrownBy(() -> statement.execute("INSERT INTO fenced VALUES (2)"))
                    .satisfies(ex -> assertThat(ex.getSQLState()).isEqualTo("25006"));
            }
        }
    }

    /** The port of the server a new connection through the multi-host URL reaches. */
    private static int serverPortThroughTheMultiHostUrl(StreamingReplica pair) throws SQLException {
        try (Connection connection = DriverManager.getConnection(pair.jdbcUrl(), PostgresServer.APP_USER,
                PostgresServer.APP_PASSWORD);
                Statement statement = connection.createStatement();
                ResultSet port = statement.executeQuery("SELECT inet_server_port()")) {
            port.next();
            return port.getInt(1);
        }
    }

}
