package dev.resilientdb.retry;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Arguments of a {@link RetryableTransactional} method in a JDBC application (Spring Boot's
 * {@code JdbcTransactionManager}), on real PostgreSQL with the backend terminated in the first
 * attempt: there are no entities, every argument is a plain object and reaches each attempt as it
 * is (docs/retries.md, "Entities passed in"). A value argument gives a correct retry; an object the
 * method changes reaches the retry changed.
 */
class CallerArgumentsJdbcTests {

    private static final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(server, "caller-arguments-it")
        .withUserConfiguration(Services.class);

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS jdbc_balances");
        server.execute("CREATE TABLE jdbc_balances (id text PRIMARY KEY, balance int NOT NULL)");
        server.execute("GRANT ALL ON jdbc_balances TO " + PostgresServer.APP_USER);
    }

    @Test
    void valueArgumentIsRetriedCorrectly() {
        server.execute("INSERT INTO jdbc_balances VALUES ('value', 1000)");
        this.contextRunner.run(context -> {
            Balances balances = context.getBean(Balances.class);
            balances.deposit(new Deposit("value", 10));
            assertThat(balances.seen()).containsExactly(10, 10);
            assertThat(server.queryLong("SELECT balance FROM jdbc_balances WHERE id = 'value'")).isEqualTo(1010);
        });
    }

    @Test
    void mutableArgumentReachesTheRetryAsTheFailedAttemptLeftIt() {
        server.execute("INSERT INTO jdbc_balances VALUES ('mutable', 1000)");
        this.contextRunner.run(context -> {
            Balances balances = context.getBean(Balances.class);
            MutableBalance balance = new MutableBalance("mutable", 1000);
            balances.write(balance, 10);
            assertThat(balances.seen()).containsExactly(1000, 1010);
            assertThat(server.queryLong("SELECT balance FROM jdbc_balances WHERE id = 'mutable'")).isEqualTo(1020);
        });
    }

    record Deposit(String account, int amount) {
    }

    static class MutableBalance {

        final String account;

        int balance;

        MutableBalance(String account, int balance) {
            this.account = account;
            this.balance = balance;
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class Services {

        @Bean
        Balances balances(JdbcTemplate jdbc) {
            return new Balances(jdbc);
        }

    }

    static class Balances {

        final List<Integer> seen = new CopyOnWriteArrayList<>();

        private final JdbcTemplate jdbc;

        Balances(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        /** What each attempt found in its argument when it started. */
        public List<Integer> seen() {
            return List.copyOf(this.seen);
        }

        @RetryableTransactional
        public void deposit(Deposit deposit) {
            this.seen.add(deposit.amount());
            this.jdbc.update("UPDATE jdbc_balances SET balance = balance + ? WHERE id = ?", deposit.amount(),
                    deposit.account());
            if (this.seen.size() == 1) {
                RetryableTransactionalTests.terminateOwnBackend(this.jdbc);
            }
        }

        /** Writes the balance the caller computed, after adding to it: a read-modify-write in memory. */
        @RetryableTransactional
        public void write(MutableBalance balance, int amount) {
            this.seen.add(balance.balance);
            balance.balance += amount;
            this.jdbc.update("UPDATE jdbc_balances SET balance = ? WHERE id = ?", balance.balance, balance.account);
            if (this.seen.size() == 1) {
                RetryableTransactionalTests.terminateOwnBackend(this.jdbc);
            }
        }

    }

}
