package dev.resilientdb.retry;

import java.time.Duration;

import dev.resilientdb.autoconfigure.ResilientDbHealthAutoConfiguration;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Fail-fast while the database is gone, on a real server that is stopped and started: calls fail at
 * once once the breaker has opened, the state shows in the health details, and service resumes by
 * itself when the server is back.
 */
class CircuitBreakerIntegrationTests {

    @Test
    void callsFailFastDuringALongOutageAndServiceResumesByItself() {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            RetryTestApplication.on(server, "breaker-it")
                .withConfiguration(AutoConfigurations.of(HealthContributorAutoConfiguration.class,
                        ResilientDbHealthAutoConfiguration.class))
                .withPropertyValues("resilient.db.retry.deadline=1s", "resilient.db.pool.connection-timeout=300ms",
                        "resilient.db.pool.validation-timeout=250ms", "resilient.db.circuit-breaker.sliding-window=10s",
                        "resilient.db.circuit-breaker.minimum-calls=3", "resilient.db.circuit-breaker.wait-in-open-state=500ms")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    HealthIndicator health = context.getBean("dbHealthContributor", HealthIndicator.class);
                    assertThat(query(template, jdbc)).isEqualTo(1);
                    assertThat(health.health().getDetails()).containsEntry("circuitBreaker", "closed");

                    server.stop();
                    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                    boolean open = false;
                    while (!open && System.nanoTime() < deadline) {
                        try {
                            query(template, jdbc);
                        }
                        catch (DatabaseUnavailableException ex) {
                            open = true;
                        }
                        catch (RuntimeException ex) {
                            // Connection failures while the breaker counts them.
                        }
                    }
                    assertThat(open).as("circuit breaker opened during the outage").isTrue();
                    long start = System.nanoTime();
                    assertThatExceptionOfType(DatabaseUnavailableException.class).isThrownBy(() -> query(template, jdbc));
                    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(100));
                    assertThat(health.health().getDetails()).containsEntry("circuitBreaker", "open");

                    server.start();
                    long back = server.acceptingConnectionsSince();
                    Integer result = null;
                    while (result == null && System.nanoTime() - back < Duration.ofSeconds(20).toNanos()) {
                        try {
                            result = query(template, jdbc);
                        }
                        catch (RuntimeException ex) {
                            Thread.sleep(50);
                        }
                    }
                    Duration recovery = Duration.ofNanos(System.nanoTime() - back);
                    System.out.println("circuit breaker: first success " + recovery.toMillis() + "ms after the server was back");
                    assertThat(result).isEqualTo(1);
                    assertThat(recovery).isLessThan(Duration.ofSeconds(5));
                    for (int trial = 0; trial < 3; trial++) {
                        assertThat(query(template, jdbc)).isEqualTo(1);
                    }
                    assertThat(health.health().getDetails()).containsEntry("circuitBreaker", "closed");
                });
        }
    }

    private static Integer query(RetryingTransactionTemplate template, JdbcTemplate jdbc) {
        return template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
    }

}
