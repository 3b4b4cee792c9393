package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 50 concurrent workers, 100 queries each, through the starter's pool on a real server: no errors,
 * and never more server connections than the pool's maximum. Prints throughput and the peak.
 */
class PoolLoadTests {

    private static final String APPLICATION_NAME = "pool-load-test";

    private static final int WORKERS = 50;

    private static final int QUERIES_PER_WORKER = 100;

    private static final int MAX_SIZE = 10;

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl(),
                "spring.datasource.username=" + this.server.username(),
                "spring.datasource.password=" + this.server.password(),
                "resilient.db.driver.application-name=" + APPLICATION_NAME, "resilient.db.pool.max-size=" + MAX_SIZE);

    @Test
    void fiftyWorkersShareTheConfiguredPoolWithoutErrors() {
        this.contextRunner.run(context -> {
            JdbcTemplate jdbc = new JdbcTemplate(context.getBean(HikariDataSource.class));
            AtomicInteger errors = new AtomicInteger();
            AtomicLong rows = new AtomicLong();
            AtomicInteger peak = new AtomicInteger();
            AtomicBoolean running = new AtomicBoolean(true);
            Thread sampler = new Thread(() -> {
                while (running.get()) {
                    peak.accumulateAndGet(this.server.backendPids(APPLICATION_NAME).size(), Math::max);
                    // Each sample is a new server session: without a pause the sampler competes with the pool for them.
                    LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
                }
            }, "connection-sampler");
            sampler.start();
            // The workers share the configured pool, not its first connection while the others are still being opened
            // (which takes seconds on a busy machine, longer than a worker waits for a connection).
            HikariDataSource dataSource = context.getBean(HikariDataSource.class);
            dataSource.getConnection().close();
            HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
            long filledBy = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (pool.getTotalConnections() < MAX_SIZE && System.nanoTime() < filledBy) {
                Thread.sleep(20);
            }
            ExecutorService workers = Executors.newFixedThreadPool(WORKERS);
            long start = System.nanoTime();
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                futures.add(workers.submit(() -> {
                    for (int q = 0; q < QUERIES_PER_WORKER; q++) {
                        try {
                            rows.addAndGet(jdbc.queryForObject("SELECT count(*) FROM generate_series(1, 100)", Long.class));
                        }
                        catch (RuntimeException ex) {
                            errors.incrementAndGet();
                        }
                    }
                }));
            }
            for (Future<?> future : futures) {
                future.get(2, TimeUnit.MINUTES);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            running.set(false);
            sampler.join();
            workers.shutdown();
            int queries = WORKERS * QUERIES_PER_WORKER;
            System.out.printf("pool load: %d workers x %d queries = %d queries in %.2f s (%.0f queries/s), errors %d, "
                    + "peak server connections %d (max-size %d)%n", WORKERS, QUERIES_PER_WORKER, queries, seconds,
                    queries / seconds, errors.get(), peak.get(), MAX_SIZE);
            assertThat(errors.get()).isZero();
            assertThat(rows.get()).isEqualTo(queries * 100L);
            assertThat(peak.get()).isPositive().isLessThanOrEqualTo(MAX_SIZE);
        });
    }

}
