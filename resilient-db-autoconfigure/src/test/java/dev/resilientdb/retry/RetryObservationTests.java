package dev.resilientdb.retry;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

import static io.micrometer.observation.tck.TestObservationRegistryAssert.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Each unit of work that retries is one Micrometer observation ({@value DefaultRetryObservationConvention#NAME}),
 * child of the caller's, with its failed attempts as events; one that does not retry, and a plain
 * {@code @Transactional} method, are not observed. On a real PostgreSQL, where each failed attempt is
 * the server terminating the attempt's own session (57P01).
 */
class RetryObservationTests {

    private static final String APPLICATION_NAME = "retry-observation-it";

    private final PostgresServer server = PostgresServers.shared();

    private final TestObservationRegistry registry = TestObservationRegistry.create();

    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void createTableAndRecordEvents() {
        this.server.execute("DROP TABLE IF EXISTS observed_rows");
        this.server.execute("CREATE TABLE observed_rows (id text PRIMARY KEY)");
        this.server.execute("GRANT ALL ON observed_rows TO " + PostgresServer.APP_USER);
        this.registry.observationConfig().observationHandler(new ObservationHandler<>() {

            @Override
            public void onEvent(Observation.Event event, Observation.Context context) {
                RetryObservationTests.this.events.add(event.getName() + ": " + event.getContextualName());
            }

            @Override
            public boolean supportsContext(Observation.Context context) {
                return true;
            }

        });
    }

    private ApplicationContextRunner application(String... properties) {
        return RetryTestApplication.on(this.server, APPLICATION_NAME)
            .withBean(ObservationRegistry.class, () -> this.registry)
            .withBean(Writer.class)
            .withBean(PlainWriter.class)
            .withPropertyValues("resilient.db.pool.name=observed-pool")
            .withPropertyValues(properties);
    }

    @Test
    void unitOfWorkThatRetriedTwiceIsOneObservationWithAnEventPerFailedAttempt() {
        application().run(context -> {
            Writer writer = context.getBean(Writer.class);
            Observation request = Observation.start("test.request", this.registry);
            try (Observation.Scope scope = request.openScope()) {
                assertThat(writer.write("retried-twice", 2)).isEqualTo("stored");
            }
            request.stop();
            assertThat(writer.attempts()).isEqualTo(3);
            assertThat(this.server.queryLong("SELECT count(*) FROM observed_rows WHERE id = 'retried-twice'")).isOne();
            assertThat(this.registry).hasNumberOfObservationsWithNameEqualTo(DefaultRetryObservationConvention.NAME, 1)
                .hasObservationWithNameEqualTo(DefaultRetryObservationConvention.NAME)
                .that()
                .hasBeenStarted()
                .hasBeenStopped()
                .hasContextualNameEqualTo("retry observed-pool")
                .hasLowCardinalityKeyValue("pool", "observed-pool")
                .hasLowCardinalityKeyValue("outcome", "recovered")
                .hasLowCardinalityKeyValue("sqlstate.class", "57")
                .hasHighCardinalityKeyValue("attempts", "3")
                .hasHighCardinalityKeyValue("sqlstate", "57P01")
                .doesNotHaveError()
                .satisfies((retry) -> assertThat(retry.getParentObservation()).isSameAs(request));
            assertThat(this.events).hasSize(2);
            assertThat(this.events.get(0)).startsWith(
                    "attempt.failed: attempt 1 failed: SQLSTATE 57P01 (PSQLException), next attempt in ");
            assertThat(this.events.get(1)).startsWith(
                    "attempt.failed: attempt 2 failed: SQLSTATE 57P01 (PSQLException), next attempt in ");
        });
    }

    /** Spring Boot's own observation and metrics support makes the observation a timer, with no code of the application's. */
    @Test
    void withSpringBootsObservationSupportARetriedUnitOfWorkIsTimedByOutcome() {
        RetryTestApplication.on(this.server, APPLICATION_NAME)
            .withConfiguration(AutoConfigurations.of(ObservationAutoConfiguration.class, MetricsAutoConfiguration.class,
                    SimpleMetricsExportAutoConfiguration.class))
            .withBean(Writer.class)
            .withPropertyValues("resilient.db.pool.name=observed-pool")
            .run(context -> {
                assertThat(context.getBean(Writer.class).write("timed", 2)).isEqualTo("stored");
                MeterRegistry meters = context.getBean(MeterRegistry.class);
                Timer timer = meters.get(DefaultRetryObservationConvention.NAME)
                    .tags("pool", "observed-pool", "outcome", "recovered", "sqlstate.class", "57")
                    .timer();
                assertThat(timer.count()).isOne();
                assertThat(meters.get(DefaultRetryObservationConvention.NAME + ".attempt.failed").counter().count())
                    .isEqualTo(2);
            });
    }

    @Test
    void unitOfWorkThatGivesUpIsObservedWithItsOutcomeAndError() {
        application("resilient.db.retry.max-attempts=3").run(context -> {
            Writer writer = context.getBean(Writer.class);
            assertThatExceptionOfType(RuntimeException.class).isThrownBy(() -> writer.write("gives-up", 10));
            assertThat(writer.attempts()).isEqualTo(3);
            assertThat(this.registry).hasObservationWithNameEqualTo(DefaultRetryObservationConvention.NAME)
                .that()
                .hasBeenStopped()
                .hasLowCardinalityKeyValue("outcome", "gave-up")
                .hasLowCardinalityKeyValue("sqlstate.class", "57")
                .hasHighCardinalityKeyValue("attempts", "3")
                .hasError();
            // The last attempt is not retried, so it is no event: the error says how it failed.
            assertThat(this.events).hasSize(2);
        });
    }

    @Test
    void unitOfWorkThatSucceedsAtOnceIsNotObserved() {
        application().run(context -> {
            assertThat(context.getBean(Writer.class).write("at-once", 0)).isEqualTo("stored");
            assertThat(this.registry).doesNotHaveAnyObservation();
        });
    }

    @Test
    void plainTransactionalMethodIsNotObservedEvenWhenItFailsTransiently() {
        application().run(context -> {
            PlainWriter writer = context.getBean(PlainWriter.class);
            assertThatExceptionOfType(RuntimeException.class).isThrownBy(() -> writer.write("plain"));
            assertThat(writer.attempts()).isEqualTo(1);
            assertThat(this.registry).doesNotHaveAnyObservation();
        });
    }

    /** The server ends the session of the calling transaction: a real 57P01. */
    private static void terminateOwnSession(JdbcTemplate jdbc) {
        jdbc.queryForObject("SELECT pg_terminate_backend(pg_backend_pid())", Boolean.class);
    }

    /** Inserts a row; its first attempts lose their session after the insert. */
    static class Writer {

        private final AtomicInteger attempts = new AtomicInteger();

        private final JdbcTemplate jdbc;

        Writer(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional
        public String write(String id, int failingAttempts) {
            this.jdbc.update("INSERT INTO observed_rows VALUES (?)", id);
            if (this.attempts.incrementAndGet() <= failingAttempts) {
                terminateOwnSession(this.jdbc);
            }
            return "stored";
        }

        /** Read through the proxy: its own fields are not the target's. */
        public int attempts() {
            return this.attempts.get();
        }

    }

    /** The same, with Spring's {@code @Transactional} only: no retries, no observation. */
    static class PlainWriter {

        private final AtomicInteger attempts = new AtomicInteger();

        private final JdbcTemplate jdbc;

        PlainWriter(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Transactional
        public void write(String id) {
            this.jdbc.update("INSERT INTO observed_rows VALUES (?)", id);
            this.attempts.incrementAndGet();
            terminateOwnSession(this.jdbc);
        }

        public int attempts() {
            return this.attempts.get();
        }

    }

}
