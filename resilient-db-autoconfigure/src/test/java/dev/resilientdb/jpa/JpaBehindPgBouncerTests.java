package dev.resilientdb.jpa;

import java.sql.SQLException;

import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Spring Boot's JPA set-up ({@code JpaTransactionManager}, Hibernate) behind a real transaction-pooling
 * PgBouncer: its transactions get the statement timeout and their isolation level too.
 */
class JpaBehindPgBouncerTests {

    private static final PostgresServer server = PostgresServers.shared();

    @Test
    void jpaTransactionsGetTheStatementTimeoutAndTheirIsolationLevel() {
        JpaTestApplication.createTable(server);
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.TRANSACTION, 4)) {
            JpaTestApplication.on(server, "jpa-pgbouncer-it")
                .withPropertyValues(pooler.dataSourceProperties())
                .withPropertyValues("resilient.db.driver.pooler=pgbouncer-transaction",
                        "resilient.db.driver.statement-timeout=500ms", "resilient.db.driver.socket-timeout=5s")
                .run(context -> {
                    PlatformTransactionManager transactionManager = context.getBean(PlatformTransactionManager.class);
                    assertThat(transactionManager).isInstanceOf(JpaTransactionManager.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    TransactionTemplate transactions = new TransactionTemplate(transactionManager);
                    String timeout = transactions.execute(status -> jdbc.queryForObject("SHOW statement_timeout", String.class));
                    assertThat(timeout).isEqualTo("500ms");
                    assertThatExceptionOfType(RuntimeException.class)
                        .isThrownBy(() -> transactions.executeWithoutResult(status -> jdbc.execute("SELECT pg_sleep(3)")))
                        .satisfies(ex -> assertThat(sqlState(ex)).isEqualTo("57014"));
                    transactions.setIsolationLevel(TransactionDefinition.ISOLATION_REPEATABLE_READ);
                    String isolation = transactions.execute(status -> jdbc.queryForObject("SHOW transaction_isolation", String.class));
                    assertThat(isolation).isEqualTo("repeatable read");
                });
        }
    }

    private static String sqlState(Throwable failure) {
        for (Throwable current = failure; current != null; current = current.getCause()) {
            if (current instanceof SQLException sql) {
                return sql.getSQLState();
            }
        }
        return null;
    }

}
