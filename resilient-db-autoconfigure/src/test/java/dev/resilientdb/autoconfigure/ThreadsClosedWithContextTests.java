package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12, item 8: every thread the starter starts (the health probe's, the database state's
 * probing and its probe's, the saturation monitor's) ends when the application context closes,
 * even while the database is down and calls fail fast.
 */
class ThreadsClosedWithContextTests {

    @Test
    void noResilientDbThreadOutlivesTheContextAfterHealthChecksAndStateProbes() throws Exception {
        Set<Thread> before = resilientDbThreads();
        try (PostgresServer server = PostgresServers.startDedicated()) {
            new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                        DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                        TransactionAutoConfiguration.class, AopAutoConfiguration.class,
                        ResilientDbAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class,
                        HealthContributorAutoConfiguration.class, ResilientDbHealthAutoConfiguration.class))
                .withPropertyValues("spring.datasource.url=" + server.jdbcUrl(),
                        "spring.datasource.username=" + server.username(),
                        "spring.datasource.password=" + server.password(),
                        "resilient.db.driver.application-name=threads-it", "resilient.db.pool.max-size=2",
                        "resilient.db.pool.connection-timeout=300ms", "resilient.db.pool.validation-timeout=250ms",
                        "resilient.db.retry.deadline=200ms", "resilient.db.retry.budget.enabled=false",
                        "resilient.db.circuit-breaker.minimum-calls=2", "resilient.db.circuit-breaker.failure-rate-threshold=50",
                        "resilient.db.circuit-breaker.wait-in-open-state=200ms")
                .run(context -> {
                    HealthIndicator health = context.getBean("dbHealthContributor", HealthIndicator.class);
                    health.health();
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    RetryEngine engine = context.getBean(RetryEngine.class);
                    DataSource dataSource = context.getBean(DataSource.class);
                    template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                    server.stop();
                    try {
                        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                        while (!"open".equals(engine.circuitBreakerState(dataSource)) && System.nanoTime() < deadline) {
                            try {
                                template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                            }
                            catch (RuntimeException expected) {
                                // The database is down.
                            }
                        }
                        assertThat(engine.circuitBreakerState(dataSource)).isEqualTo("open");
                        health.health();
                        // The state probes the database while it is down; let a few probes run.
                        Thread.sleep(1000);
                        assertThat(names(newThreads(before))).contains("resilient-db-state-dataSource");
                    }
                    finally {
                        server.start();
                    }
                });
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!newThreads(before).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(names(newThreads(before))).as("resilient-db threads alive after the context closed").isEmpty();
        }
    }

    private static Set<Thread> newThreads(Set<Thread> before) {
        Set<Thread> threads = resilientDbThreads();
        threads.removeAll(before);
        return threads;
    }

    private static Set<Thread> resilientDbThreads() {
        Set<Thread> threads = new HashSet<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive() && thread.getName().startsWith("resilient-db-")
                    && !thread.getName().startsWith("resilient-db-test-")) {
                threads.add(thread);
            }
        }
        return threads;
    }

    private static List<String> names(Set<Thread> threads) {
        return threads.stream().map(Thread::getName).sorted().toList();
    }

}
