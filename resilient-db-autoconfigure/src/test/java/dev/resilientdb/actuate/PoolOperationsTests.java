package dev.resilientdb.actuate;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbEndpointAutoConfiguration;
import dev.resilientdb.pool.PoolSaturationMonitor;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pool operations on a real PostgreSQL: the {@code dbpool} endpoint's force reconnect, the
 * saturation warning, and waiting for the database at start-up.
 */
@ExtendWith(OutputCaptureExtension.class)
class PoolOperationsTests {

    private static final String APPLICATION_NAME = "pool-operations-it";

    private final PostgresServer server = PostgresServers.shared();

    private ApplicationContextRunner contextRunner(PostgresServer server) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                    EndpointAutoConfiguration.class, ResilientDbEndpointAutoConfiguration.class))
            .withPropertyValues("spring.datasource.url=" + server.jdbcUrl(),
                    "spring.datasource.username=" + server.username(),
                    "spring.datasource.password=" + server.password(),
                    "resilient.db.driver.application-name=" + APPLICATION_NAME,
                    "management.endpoints.web.exposure.include=dbpool");
    }

    @Test
    void evictReplacesEveryPooledConnectionWithoutFailingWorkInFlight() {
        contextRunner(this.server).withPropertyValues("resilient.db.pool.max-size=4").run(context -> {
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            DatabasePoolEndpoint endpoint = context.getBean(DatabasePoolEndpoint.class);
            pool.getConnection().close();
            awaitBackends(4);
            Set<Integer> before = new HashSet<>(this.server.backendPids(APPLICATION_NAME));
            this.server.execute("CREATE TABLE IF NOT EXISTS evict_rows (id int)");
            this.server.execute("GRANT ALL ON evict_rows TO " + PostgresServer.APP_USER);
            try (Connection inFlight = pool.getConnection()) {
                inFlight.setAutoCommit(false);
                try (Statement statement = inFlight.createStatement()) {
                    statement.execute("INSERT INTO evict_rows VALUES (1)");
                    Map<String, Object> evicted = endpoint.evict();
                    assertThat(evicted).containsEntry("evicted", 4);
                    statement.execute("INSERT INTO evict_rows VALUES (2)");
                }
                inFlight.commit();
            }
            try (Connection fresh = pool.getConnection()) {
                fresh.isValid(1);
            }
            awaitBackends(4);
            Set<Integer> after = new HashSet<>(this.server.backendPids(APPLICATION_NAME));
            assertThat(after).doesNotContainAnyElementsOf(before);
            assertThat(this.server.queryLong("SELECT count(*) FROM evict_rows")).isEqualTo(2);
            Map<String, Object> read = endpoint.pool();
            assertThat(read.toString()).contains("maxSize=4", "socketTimeout=45").doesNotContain(this.server.password())
                .doesNotContain("jdbc:");
        });
    }

    @Test
    void saturationWarningFiresOncePerEpisodeAndRecoveryIsLoggedOnce(CapturedOutput output) {
        contextRunner(this.server).withPropertyValues("resilient.db.pool.max-size=5").run(context -> {
            assertThat(context).hasSingleBean(PoolSaturationMonitor.class);
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            List<Connection> held = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                held.add(pool.getConnection());
            }
            for (int request = 0; request < 60; request++) {
                try (Connection extra = pool.getConnection()) {
                    extra.isValid(1);
                }
                Thread.sleep(50);
            }
            for (Connection connection : held) {
                connection.close();
            }
            // The monitor samples every second; on a busy machine its thread may run late.
            awaitOutput(output, "pool 'dataSource' is back below its warning threshold", Duration.ofSeconds(20));
            // Two more samples, in which a repeated line would show.
            Thread.sleep(2_000);
            assertThat(count(output.getAll(), "pool 'dataSource' is 80% utilised")
                    + count(output.getAll(), "pool 'dataSource' is 100% utilised")).isEqualTo(1);
            assertThat(count(output.getAll(), "pool 'dataSource' is back below its warning threshold")).isEqualTo(1);
            assertThat(output.getAll()).doesNotContain("is still");
        });
    }

    @Test
    void startupWaitsForADatabaseThatComesUpLate(CapturedOutput output) throws Exception {
        try (PostgresServer late = PostgresServers.startDedicated()) {
            late.stop();
            CompletableFuture<Void> starting = CompletableFuture.runAsync(() -> {
                sleep(Duration.ofSeconds(2));
                late.start();
            });
            contextRunner(late).withPropertyValues("resilient.db.startup.wait-for-database=30s").run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBean(HikariDataSource.class).getConnection().isValid(1)).isTrue();
            });
            starting.get(30, TimeUnit.SECONDS);
            assertThat(output.getAll()).contains("resilient-db: waiting for the database: attempt 1 failed with SQLSTATE 08001",
                    "resilient-db: the database accepted a connection after");
            assertThat(output.getAll()).doesNotContain(late.password());
        }
    }

    @Test
    void startupFailsClearlyWhenTheDatabaseNeverComes() throws Exception {
        contextRunner(this.server)
            .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:1/app",
                    "resilient.db.startup.wait-for-database=1s")
            .run(context -> assertThat(context).hasFailed()
                .getFailure()
                .hasStackTraceContaining("The database did not accept a connection within 1s (resilient.db.startup.wait-for-database)"));
    }

    private void awaitBackends(int expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (this.server.backendPids(APPLICATION_NAME).size() != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(this.server.backendPids(APPLICATION_NAME)).hasSize(expected);
    }

    private static void awaitOutput(CapturedOutput output, String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!output.getAll().contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    private static int count(String text, String needle) {
        int count = 0;
        for (int index = text.indexOf(needle); index >= 0; index = text.indexOf(needle, index + 1)) {
            count++;
        }
        return count;
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

}
