package dev.resilientdb.autoconfigure;

import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.DatabasePoolEndpoint;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.health.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12, item 2: an application with two HikariCP pools. Health, meters, the {@code dbpool}
 * endpoint, the saturation warning and the breaker state cover both, each named after its bean,
 * and a saturated pool does not block {@code db}.
 */
@ExtendWith(OutputCaptureExtension.class)
class SeveralDataSourcesTests {

    private static final Duration HEALTH_TIMEOUT = Duration.ofMillis(800);

    /** Room for a busy 2-core machine; far below the 10 s a pool-borrowing check would wait. */
    private static final Duration MARGIN = Duration.ofMillis(1200);

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                TransactionAutoConfiguration.class, AopAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class,
                HealthContributorAutoConfiguration.class, DataSourceHealthContributorAutoConfiguration.class,
                ResilientDbHealthAutoConfiguration.class, EndpointAutoConfiguration.class,
                MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, DataSourcePoolMetricsAutoConfiguration.class,
                ResilientDbMetricsAutoConfiguration.class, ResilientDbEndpointAutoConfiguration.class))
        .withBean("first", HikariDataSource.class, () -> pool(this.server))
        .withBean("second", HikariDataSource.class, () -> pool(this.server))
        .withPropertyValues("resilient.db.pool.max-size=2", "resilient.db.pool.connection-timeout=10s",
                "resilient.db.health.timeout=" + HEALTH_TIMEOUT.toMillis() + "ms",
                "resilient.db.driver.application-name=several-it", "management.endpoints.web.exposure.include=dbpool");

    @Test
    void everyPoolIsCoveredByNameAndASaturatedOneDoesNotBlockHealth(CapturedOutput output) {
        this.contextRunner.run(context -> {
            assertThat(context).hasNotFailed();
            HikariDataSource first = context.getBean("first", HikariDataSource.class);
            HikariDataSource second = context.getBean("second", HikariDataSource.class);
            first.getConnection().close();
            List<Connection> held = new ArrayList<>();
            try {
                held.add(second.getConnection());
                held.add(second.getConnection());

                Object db = context.getBean("dbHealthContributor");
                assertThat(db).isInstanceOf(CompositeHealthContributor.class);
                CompositeHealthContributor composite = (CompositeHealthContributor) db;
                assertThat(composite).hasSize(2);
                Map<String, Health> members = new LinkedHashMap<>();
                for (String name : List.of("first", "second")) {
                    long start = System.nanoTime();
                    Health health = ((HealthIndicator) composite.getContributor(name)).health();
                    assertThat(Duration.ofNanos(System.nanoTime() - start)).as(name).isLessThan(HEALTH_TIMEOUT.plus(MARGIN));
                    assertThat(health.getStatus()).as(name).isEqualTo(Status.UP);
                    members.put(name, health);
                }
                Health saturated = members.get("second");
                assertThat(saturated.getDetails()).containsEntry("pool", "second")
                    .containsEntry("saturated", true)
                    .containsEntry("circuitBreaker", "closed");
                assertThat(members.get("first").getDetails()).containsEntry("pool", "first")
                    .containsEntry("circuitBreaker", "closed");

                MeterRegistry registry = context.getBean(MeterRegistry.class);
                assertThat(registry.get("resilientdb.pool.utilization").tag("pool", "second").gauge().value()).isEqualTo(1.0);
                assertThat(registry.get("resilientdb.pool.saturated").tag("pool", "first").gauge().value()).isZero();

                assertThat(context.getBean(DatabasePoolEndpoint.class).pool().toString()).contains("first", "second");

                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (!output.getAll().contains("pool 'second' is 100% utilised") && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(output.getAll()).contains("pool 'second' is 100% utilised");
            }
            finally {
                for (Connection connection : held) {
                    connection.close();
                }
            }
        });
    }

    private static HikariDataSource pool(PostgresServer server) {
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(server.jdbcUrl());
        pool.setUsername(server.username());
        pool.setPassword(server.password());
        return pool;
    }

}
