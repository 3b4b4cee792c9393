package dev.resilientdb.actuate;

import java.time.Duration;
import java.util.Map;
import java.util.function.Predicate;

import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbEndpointAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbHealthAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbMetricsAutoConfiguration;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.StreamingReplica;
import dev.resilientdb.test.StreamingReplica.Replication;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.health.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Health details, the {@code dbpool} endpoint and the {@code resilientdb.failovers} meter through real
 * failovers of a primary with a streaming standby, on a multi-host URL with {@code targetServerType=primary}.
 */
class FailoverHealthTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private ApplicationContextRunner contextRunner(StreamingReplica pair) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                    HealthContributorAutoConfiguration.class, DataSourceHealthContributorAutoConfiguration.class,
                    ResilientDbHealthAutoConfiguration.class, MetricsAutoConfiguration.class,
                    SimpleMetricsExportAutoConfiguration.class, DataSourcePoolMetricsAutoConfiguration.class,
                    ResilientDbMetricsAutoConfiguration.class, EndpointAutoConfiguration.class,
                    ResilientDbEndpointAutoConfiguration.class))
            .withPropertyValues("spring.datasource.url=" + pair.jdbcUrl(),
                    "spring.datasource.username=" + PostgresServer.APP_USER,
                    "spring.datasource.password=" + PostgresServer.APP_PASSWORD,
                    "resilient.db.driver.application-name=failover-health", "resilient.db.health.timeout=2s",
                    "management.endpoints.web.exposure.include=dbpool");
    }

    @Test
    void switchoverMovesHealthAndEndpointToTheNewPrimaryAndCountsOneFailover() {
        try (StreamingReplica pair = StreamingReplica.start(Replication.SYNCHRONOUS)) {
            contextRunner(pair).run(context -> {
                Health before = health(context);
                assertThat(before.getStatus()).isEqualTo(Status.UP);
                assertThat(before.getDetails()).containsEntry("server", "127.0.0.1:" + pair.first().port())
                    .containsEntry("primary", true)
                    .containsEntry("failovers", 0L);
                assertThat(failoversMeter(context)).isZero();

                pair.primary().stop();
                pair.promoteStandby();
                Health after = awaitHealth(context, health -> ("127.0.0.1:" + pair.second().port())
                    .equals(health.getDetails().get("server")));
                assertThat(after.getStatus()).isEqualTo(Status.UP);
                assertThat(after.getDetails()).containsEntry("primary", true).containsEntry("failovers", 1L);
                assertThat(failoversMeter(context)).isEqualTo(1);
                assertThat(endpointPool(context)).containsEntry("failovers", 1L)
                    .containsEntry("server", Map.of("address", "127.0.0.1:" + pair.second().port(), "primary", true));

                pair.rejoinAsStandby(pair.first());
                assertThat(health(context).getDetails()).containsEntry("server", "127.0.0.1:" + pair.second().port())
                    .containsEntry("failovers", 1L);
            });
        }
    }

    @Test
    void primaryFencedReadOnlyIsSeenAsDemotedAndCountedOnceWithThePromotion() {
        try (StreamingReplica pair = StreamingReplica.start(Replication.ASYNCHRONOUS)) {
            contextRunner(pair).run(context -> {
                assertThat(health(context).getDetails()).containsEntry("primary", true);
                pair.fencePrimary();
                Health demoted = health(context);
                assertThat(demoted.getDetails()).containsEntry("server", "127.0.0.1:" + pair.first().port())
                    .containsEntry("primary", false)
                    .containsEntry("failovers", 1L);
                pair.awaitReplayed();
                pair.promoteStandby();
                Health after = awaitHealth(context, health -> ("127.0.0.1:" + pair.second().port())
                    .equals(health.getDetails().get("server")));
                assertThat(after.getDetails()).containsEntry("primary", true).containsEntry("failovers", 1L);
                assertThat(failoversMeter(context)).isEqualTo(1);
            });
        }
    }

    private static Health health(AssertableApplicationContext context) {
        return context.getBean("dbHealthContributor", HealthIndicator.class).health();
    }

    private static Health awaitHealth(AssertableApplicationContext context, Predicate<Health> condition) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        Health health = health(context);
        while (!condition.test(health)) {
            assertThat(System.nanoTime()).as("health reached the condition within " + TIMEOUT + "; last: " + health)
                .isLessThan(deadline);
            try {
                Thread.sleep(100);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            health = health(context);
        }
        return health;
    }

    private static double failoversMeter(AssertableApplicationContext context) {
        return context.getBean(MeterRegistry.class).get("resilientdb.failovers").tag("pool", "dataSource")
            .functionCounter().count();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> endpointPool(AssertableApplicationContext context) {
        Map<String, Object> pools = (Map<String, Object>) context.getBean(DatabasePoolEndpoint.class).pool().get("pools");
        return (Map<String, Object>) pools.get("dataSource");
    }

}
