package dev.resilientdb.retry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The circuit breaker during real outages (a dedicated server, stopped and started): an outage that
 * retries ride out must not open it, and the pool's settings come back whole after one that does.
 */
class CircuitBreakerOutageTests {

    /**
     * Issue 11, item 13: requests arrive at 2 per second, each on its own thread as in a web server;
     * the server is down for 8 s, less than the 15 s retry deadline. Every request succeeds: the
     * breaker counts requests, not each retry attempt. (The retry budget is off and attempts are not
     * limited, so that the deadline alone bounds a request: this is about what the breaker counts;
     * default breaker settings. Stopping and starting the server add seconds to the 8 s on a loaded
     * machine, and 20 attempts of 300 ms plus pauses of at most 500 ms ran out after 13 s.)
     */
    @Test
    void outageShorterThanTheRetryDeadlineAtLowTrafficFailsNoRequest() throws Exception {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            RetryTestApplication.on(server, "short-outage-it")
                .withPropertyValues("resilient.db.pool.connection-timeout=300ms", "resilient.db.pool.validation-timeout=250ms",
                        "resilient.db.retry.budget.enabled=false", "resilient.db.retry.max-attempts=100")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class).idempotent();
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    Integer one = template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                    assertThat(one).isEqualTo(1);
                    ExecutorService requestThreads = Executors.newCachedThreadPool();
                    try {
                        CompletableFuture<Void> outage = CompletableFuture.runAsync(() -> {
                            sleep(Duration.ofMillis(700));
                            server.stop();
                            sleep(Duration.ofSeconds(8));
                            server.start();
                        }, runnable -> new Thread(runnable, "outage").start());
                        List<Future<Integer>> requests = new ArrayList<>();
                        for (int i = 0; i < 30; i++) {
                            requests.add(requestThreads.submit(
                                    () -> template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class))));
                            sleep(Duration.ofMillis(500));
                        }
                        outage.get(60, TimeUnit.SECONDS);
                        List<String> failures = new ArrayList<>();
                        for (Future<Integer> request : requests) {
                            try {
                                request.get(60, TimeUnit.SECONDS);
                            }
                            catch (ExecutionException ex) {
                                failures.add(ex.getCause().getClass().getSimpleName() + ": " + ex.getCause().getMessage());
                            }
                        }
                        assertThat(failures).as("failed requests of %d", requests.size()).isEmpty();
                    }
                    finally {
                        requestThreads.shutdownNow();
                    }
                });
        }
    }

    /**
     * Issue 11, item 13: the server stays down while the breaker goes open, half-open (trial calls
     * after the fallback wait: 30 times wait-in-open-state, here 3 s), and open again; once it is back
     * and the breaker closed, the pool keeps the configured min-idle again.
     */
    @Test
    void minimumIdleIsRestoredAfterAnOutageThroughOpenHalfOpenAndOpenAgain() throws Exception {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            RetryTestApplication.on(server, "min-idle-it")
                // A window that holds five failed requests of about 1 s each, whether attempts or requests count.
                .withPropertyValues("resilient.db.pool.max-size=4", "resilient.db.pool.min-idle=2",
                        "resilient.db.pool.connection-timeout=300ms", "resilient.db.pool.validation-timeout=250ms",
                        "resilient.db.retry.deadline=1s", "resilient.db.circuit-breaker.sliding-window=10s",
                        "resilient.db.circuit-breaker.minimum-calls=5", "resilient.db.circuit-breaker.wait-in-open-state=100ms")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    HikariDataSource pool = context.getBean(HikariDataSource.class);
                    Integer one = template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                    assertThat(one).isEqualTo(1);
                    assertThat(pool.getMinimumIdle()).isEqualTo(2);
                    AtomicBoolean calling = new AtomicBoolean(true);
                    List<Thread> callers = new ArrayList<>();
                    for (int i = 0; i < 2; i++) {
                        Thread caller = new Thread(() -> {
                            while (calling.get()) {
                                try {
                                    template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                                }
                                catch (RuntimeException ex) {
                                    // Connection failures, then fail-fast, while the server is down.
                                }
                                sleep(Duration.ofMillis(50));
                            }
                        }, "caller-" + i);
                        caller.start();
                        callers.add(caller);
                    }
                    try {
                        server.stop();
                        sleep(Duration.ofSeconds(10));
                        server.start();
                        Integer result = null;
                        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                        while (result == null && System.nanoTime() < deadline) {
                            try {
                                result = template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                            }
                            catch (RuntimeException ex) {
                                sleep(Duration.ofMillis(100));
                            }
                        }
                        assertThat(result).as("a call succeeds once the server is back").isEqualTo(1);
                    }
                    finally {
                        calling.set(false);
                        for (Thread caller : callers) {
                            caller.join(10_000);
                        }
                    }
                    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                    while (pool.getMinimumIdle() != 2 && System.nanoTime() < deadline) {
                        sleep(Duration.ofMillis(50));
                    }
                    assertThat(pool.getMinimumIdle()).as("the pool's min-idle after the outage").isEqualTo(2);
                });
        }
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
