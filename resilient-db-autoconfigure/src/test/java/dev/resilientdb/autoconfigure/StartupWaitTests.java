package dev.resilientdb.autoconfigure;

import java.time.Duration;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12, item 5: {@code resilient.db.startup.wait-for-database} waits for a database that is not
 * there yet, never for one that rejects the login or does not exist: retrying a wrong password for
 * the whole wait risks locking the account (LDAP, PAM).
 */
class StartupWaitTests {

    private static final String WAIT = "resilient.db.startup.wait-for-database=12s";

    /** Far below the 12 s wait; generous for a loaded machine. */
    private static final Duration AT_ONCE = Duration.ofSeconds(5);

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl(),
                "spring.datasource.username=" + this.server.username(),
                "spring.datasource.password=" + this.server.password(), WAIT,
                "resilient.db.driver.application-name=startup-wait-it");

    @Test
    void wrongPasswordFailsStartupAtOnceNamingTheProperty() {
        long start = System.nanoTime();
        this.contextRunner.withPropertyValues("spring.datasource.password=wrong").run(context -> {
            assertThat(context).hasFailed();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(AT_ONCE);
            assertThat(context.getStartupFailure()).rootCause().isNotNull();
            assertThat(messages(context.getStartupFailure())).contains("28P01", "spring.datasource.password")
                .doesNotContain("wrong");
        });
    }

    @Test
    void unknownDatabaseFailsStartupAtOnceNamingTheUrl() {
        long start = System.nanoTime();
        this.contextRunner.withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl() + "_missing")
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(AT_ONCE);
                assertThat(messages(context.getStartupFailure())).contains("3D000", "spring.datasource.url");
            });
    }

    @Test
    void reachableDatabaseStartsAtOnce() {
        this.contextRunner.run(context -> {
            assertThat(context).hasNotFailed();
            context.getBean(HikariDataSource.class).getConnection().close();
        });
    }

    private static String messages(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        for (Throwable current = failure; current != null; current = current.getCause()) {
            messages.append(current.getMessage()).append('\n');
        }
        return messages.toString();
    }

}
