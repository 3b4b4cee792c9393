package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

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
 * Retries through real faults behind a real PgBouncer: the PostgreSQL server restarted, its server
 * connections terminated, and PgBouncer itself restarted, while threads run units of work. Every unit
 * of work is idempotent (ON CONFLICT DO NOTHING), so every one must succeed, and each row exists once.
 */
class PgBouncerFaultTests {

    private static final int THREADS = 8;

    private static final int UNITS_PER_THREAD = 60;

    private static PostgresServer server;

    private static PgBouncer transactionPooler;

    private static PgBouncer sessionPooler;

    @BeforeAll
    static void start() {
        server = PostgresServers.startDedicated();
        transactionPooler = PgBouncer.start(server, PoolMode.TRANSACTION, 4);
        sessionPooler = PgBouncer.start(server, PoolMode.SESSION, 20);
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] { transactionPooler, sessionPooler, server }) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            }
            catch (Exception ex) {
                // Best effort; the next resource is still closed.
            }
        }
    }

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS fault_rows");
        server.execute("CREATE TABLE fault_rows (id bigint PRIMARY KEY, worker int NOT NULL)");
        server.execute("GRANT ALL ON fault_rows TO " + PostgresServer.APP_USER);
    }

    private static ApplicationContextRunner behind(PgBouncer pooler) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                    DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                    TransactionAutoConfiguration.class, AopAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                    ResilientDbRetryAutoConfiguration.class))
            .withPropertyValues(pooler.dataSourceProperties())
            .withPropertyValues("resilient.db.driver.application-name=pgbouncer-faults",
                    "resilient.db.driver.pooler=pgbouncer-" + pooler.mode().name().toLowerCase(Locale.ROOT),
                    "resilient.db.retry.initial-interval=50ms", "resilient.db.retry.max-interval=500ms",
                    "resilient.db.retry.deadline=30s", "resilient.db.retry.budget.enabled=false",
                    "resilient.db.circuit-breaker.enabled=false", "resilient.db.pool.connection-timeout=5s");
    }

    @Test
    void unitsOfWorkSucceedThroughAServerRestartBehindTransactionPooling() throws Exception {
        survive(transactionPooler, server::restart);
    }

    @Test
    void unitsOfWorkSucceedThroughAServerRestartBehindSessionPooling() throws Exception {
        survive(sessionPooler, server::restart);
    }

    @Test
    void unitsOfWorkSucceedWhenTheServerConnectionsAreTerminated() throws Exception {
        survive(transactionPooler, () -> {
            for (int i = 0; i < 5; i++) {
                server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '"
                        + PostgresServer.APP_USER + "' AND pid <> pg_backend_pid()");
                sleep(Duration.ofMillis(200));
            }
        });
    }

    @Test
    void unitsOfWorkSucceedThroughAPgBouncerRestart() throws Exception {
        survive(transactionPooler, transactionPooler::restart);
    }

    @Test
    void unitsOfWorkSucceedThroughAPgBouncerRestartInSessionMode() throws Exception {
        survive(sessionPooler, sessionPooler::restart);
    }

    private void survive(PgBouncer pooler, Runnable fault) throws Exception {
        behind(pooler).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class).idempotent();
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicInteger done = new AtomicInteger();
            CountDownLatch warmedUp = new CountDownLatch(THREADS * 5);
            ExecutorService executor = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> workers = new ArrayList<>();
                for (int worker = 0; worker < THREADS; worker++) {
                    int id = worker;
                    workers.add(executor.submit(() -> {
                        for (int unit = 0; unit < UNITS_PER_THREAD; unit++) {
                            long key = id * 1_000_000L + unit;
                            try {
                                template.executeWithoutResult(status -> {
                                    jdbc.update("INSERT INTO fault_rows (id, worker) VALUES (?, ?) ON CONFLICT DO NOTHING", key, id);
                                    jdbc.queryForObject("SELECT count(*) FROM fault_rows WHERE worker = ?", Long.class, id);
                                });
                                done.incrementAndGet();
                            }
                            catch (RuntimeException ex) {
                                failures.add(ex);
                            }
                            warmedUp.countDown();
                            // Spread the units over the fault.
                            sleep(Duration.ofMillis(20));
                        }
                    }));
                }
                assertThat(warmedUp.await(60, TimeUnit.SECONDS)).isTrue();
                fault.run();
                for (Future<?> worker : workers) {
                    worker.get(3, TimeUnit.MINUTES);
                }
            }
            finally {
                executor.shutdownNow();
            }
            assertThat(failures).isEmpty();
            assertThat(done).hasValue(THREADS * UNITS_PER_THREAD);
            assertThat(server.queryLong("SELECT count(*) FROM fault_rows")).isEqualTo((long) THREADS * UNITS_PER_THREAD);
            assertThat(server.queryLong("SELECT count(DISTINCT worker) FROM fault_rows")).isEqualTo(THREADS);
        });
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

}
