package dev.resilientdb.autoconfigure;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12, item 6: with the database down, the first calls to a pool that was never started do
 * not queue behind each other's start-up attempts (HikariCP starts a pool lazily, under a lock): each
 * fails within {@code resilient.db.pool.connection-timeout}.
 */
class PoolLazyStartTests {

    private static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(2);

    /** Scheduling on a loaded 2-core machine; one queued start-up attempt more would take about 3 s. */
    private static final Duration MARGIN = Duration.ofMillis(2500);

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        // Nothing listens on port 1: every connect is refused, as with a stopped server.
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:1/app", "spring.datasource.username=app",
                "spring.datasource.password=app-secret",
                "resilient.db.pool.connection-timeout=" + CONNECTION_TIMEOUT.toMillis() + "ms");

    @Test
    void eightConcurrentFirstCallsOnADownDatabaseEachFailWithinTheConnectionTimeout() {
        this.contextRunner.run(context -> {
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            ExecutorService callers = Executors.newFixedThreadPool(8);
            CountDownLatch go = new CountDownLatch(1);
            try {
                List<Future<Duration>> calls = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    calls.add(callers.submit(() -> {
                        go.await();
                        long start = System.nanoTime();
                        try {
                            pool.getConnection().close();
                            throw new AssertionError("a connection from a database that is down");
                        }
                        catch (SQLException expected) {
                            return Duration.ofNanos(System.nanoTime() - start);
                        }
                    }));
                }
                go.countDown();
                List<Duration> waits = new ArrayList<>();
                for (Future<Duration> call : calls) {
                    waits.add(call.get(60, TimeUnit.SECONDS));
                }
                assertThat(waits).as("how long each caller waited").allSatisfy(
                        wait -> assertThat(wait).isLessThan(CONNECTION_TIMEOUT.plus(MARGIN)));
            }
            finally {
                callers.shutdownNow();
            }
        });
    }

}
