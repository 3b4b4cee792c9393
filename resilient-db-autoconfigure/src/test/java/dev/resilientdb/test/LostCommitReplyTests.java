package dev.resilientdb.test;

import java.net.SocketTimeoutException;
import java.sql.SQLException;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * The harness's lost commit reply: the client sees a connection failure (08006) on COMMIT, and the
 * server has committed all the same.
 */
class LostCommitReplyTests {

    private final PostgresServer server = PostgresServers.shared();

    private HikariDataSource dataSource;

    private LostCommitReply lostReply;

    @BeforeEach
    void createTable() {
        this.server.execute("DROP TABLE IF EXISTS lost_reply_rows");
        this.server.execute("CREATE TABLE lost_reply_rows (id text NOT NULL)");
        this.server.execute("GRANT ALL ON lost_reply_rows TO " + PostgresServer.APP_USER);
        this.lostReply = LostCommitReply.install(this.server, "lost_reply_rows");
        this.dataSource = new HikariDataSource();
        this.dataSource.setJdbcUrl(this.server.jdbcUrl());
        this.dataSource.setUsername(this.server.username());
        this.dataSource.setPassword(this.server.password());
        this.dataSource.setMaximumPoolSize(2);
    }

    @AfterEach
    void closePool() {
        this.lostReply.awaitServerSideCommits();
        this.dataSource.close();
    }

    /**
     * With {@code DataSourceTransactionManager} the commit's own failure reaches the caller. (Spring
     * Boot's {@code JdbcTransactionManager} translates it, rolls back on the dead connection and throws
     * that rollback's failure, "Connection is closed", 08003, instead.)
     */
    @Test
    void clientSeesAConnectionFailureOnCommitWhileTheServerCommits() {
        TransactionTemplate transactions = new TransactionTemplate(new DataSourceTransactionManager(this.dataSource));
        JdbcTemplate jdbc = new JdbcTemplate(this.dataSource);
        assertThatException().isThrownBy(() -> transactions.executeWithoutResult(status -> {
            jdbc.update("INSERT INTO lost_reply_rows VALUES ('lost')");
            this.lostReply.arm(this.dataSource);
        })).satisfies(ex -> {
            assertThat(ex).hasRootCauseInstanceOf(SocketTimeoutException.class);
            assertThat(sqlState(ex)).isEqualTo("08006");
        });
        this.lostReply.awaitServerSideCommits();
        assertThat(this.server.queryLong("SELECT count(*) FROM lost_reply_rows WHERE id = 'lost'")).isEqualTo(1);
        assertThat(this.dataSource.getHikariPoolMXBean().getActiveConnections()).isZero();

        transactions.executeWithoutResult(status -> jdbc.update("INSERT INTO lost_reply_rows VALUES ('unarmed')"));
        assertThat(this.server.queryLong("SELECT count(*) FROM lost_reply_rows WHERE id = 'unarmed'")).isEqualTo(1);
    }

    private static String sqlState(Throwable failure) {
        for (Throwable current = failure; current != null; current = current.getCause()) {
            if (current instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }

}
