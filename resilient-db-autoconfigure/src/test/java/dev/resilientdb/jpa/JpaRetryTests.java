package dev.resilientdb.jpa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.jpa.JpaTestApplication.Answer;
import dev.resilientdb.jpa.JpaTestApplication.RetryEvents;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.orm.ObjectOptimisticLockingFailureException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * {@code @RetryableTransactional} in a Spring Data JPA application with Spring Boot's defaults
 * (Hibernate, {@code JpaTransactionManager}, open-in-view in web requests), on real PostgreSQL
 * with real faults: every attempt on a fresh connection, a connection lost while Hibernate flushes
 * at commit is not an unknown commit, and optimistic-lock failures are retried a few quick times only.
 */
class JpaRetryTests {

    private static final String APPLICATION_NAME = "jpa-retry-it";

    private static final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTable() {
        JpaTestApplication.createTable(server);
    }

    /**
     * Open-in-view (Spring Boot's default in a web application) binds one EntityManager to the
     * request, and Hibernate holds its connection until the EntityManager closes; the retry must
     * still run on a new connection.
     */
    @ParameterizedTest(name = "open-in-view={0}")
    @ValueSource(booleans = { true, false })
    void requestWhoseBackendIsTerminatedIsRetriedOnANewConnectionAndWritesItsRowOnce(boolean openInView) {
        JpaTestApplication.on(server, APPLICATION_NAME).withPropertyValues("spring.jpa.open-in-view=" + openInView)
            .run(context -> {
                String id = "terminated-" + openInView;
                Answer answer = JpaTestApplication.postAndWait(JpaTestApplication.port(context),
                        "/accounts/" + id + "?fault=TERMINATE_BACKEND");
                assertThat(answer.status()).as(answer.body()).isEqualTo(200);
                List<Integer> pids = context.getBean(AccountService.class).backendPids(id);
                assertThat(pids).hasSize(2);
                assertThat(pids.get(1)).as("backend of the second attempt").isNotEqualTo(pids.get(0));
                assertThat(accounts(server, id)).isEqualTo(1);
            });
    }

    /** The same under load: every request in flight when the server restarts. */
    @ParameterizedTest(name = "open-in-view={0}")
    @ValueSource(booleans = { true, false })
    void everyRequestInFlightWhileTheServerRestartsSucceedsAndWritesItsRowOnce(boolean openInView) throws Exception {
        int requests = 8;
        try (PostgresServer restarting = PostgresServers.startDedicated()) {
            JpaTestApplication.createTable(restarting);
            JpaTestApplication.on(restarting, APPLICATION_NAME)
                .withPropertyValues("spring.jpa.open-in-view=" + openInView, "resilient.db.retry.deadline=30s")
                .run(context -> {
                    DatabaseFaults faults = context.getBean(DatabaseFaults.class);
                    faults.expectArrivals(requests);
                    List<CompletableFuture<Answer>> answers = new ArrayList<>();
                    for (int i = 0; i < requests; i++) {
                        answers.add(JpaTestApplication.post(JpaTestApplication.port(context),
                                "/accounts/load-" + i + "?fault=PAUSE_UNTIL_RESTART"));
                    }
                    assertThat(faults.awaitArrivals(Duration.ofSeconds(60))).as("every request in flight").isTrue();
                    awaitSleepingBackends(restarting, requests);
                    restarting.restart();
                    List<Answer> outcomes = new ArrayList<>();
                    for (CompletableFuture<Answer> answer : answers) {
                        outcomes.add(answer.get(120, TimeUnit.SECONDS));
                    }
                    assertThat(outcomes).allSatisfy(answer -> assertThat(answer.status()).as(answer.body()).isEqualTo(200));
                    assertThat(restarting.queryLong("SELECT count(*) FROM jpa_accounts")).isEqualTo(requests);
                    AccountService service = context.getBean(AccountService.class);
                    for (int i = 0; i < requests; i++) {
                        assertThat(service.backendPids("load-" + i)).as("attempts of load-%d", i).hasSizeGreaterThan(1);
                    }
                });
        }
    }

    /**
     * Hibernate sends the UPDATE inside commit(); a connection that is gone before then cannot
     * have committed anything, so the outcome is known and the unit of work is run again.
     */
    @Test
    void connectionLostBeforeTheFlushAtCommitIsRetriedAndTheUpdateAppliedOnce() {
        server.execute("INSERT INTO jpa_accounts VALUES ('flush', 0, 100)");
        JpaTestApplication.on(server, APPLICATION_NAME).run(context -> {
            AccountService service = context.getBean(AccountService.class);
            service.deposit("flush", 10, true);
            assertThat(service.backendPids("flush")).hasSize(2);
            assertThat(server.queryColumn("SELECT balance || ' v' || version FROM jpa_accounts WHERE id = 'flush'"))
                .containsExactly("110 v1");
            assertThat(context.getBean(RetryEvents.class).events).doesNotContain("commit unknown 1")
                .contains("success after 2");
        });
    }

    /**
     * A version the caller sent can never match again: the failure comes after the optimistic-lock
     * attempts ({@code resilient.db.retry.optimistic-lock-max-attempts}, 3 by default), not at the deadline.
     */
    @Test
    void staleVersionFromTheCallerFailsAfterThreeQuickAttemptsLongBeforeTheDeadline() {
        server.execute("INSERT INTO jpa_accounts VALUES ('stale', 2, 100)");
        JpaTestApplication.on(server, APPLICATION_NAME)
            .withPropertyValues("resilient.db.retry.initial-interval=100ms", "resilient.db.retry.max-interval=2s")
            .run(context -> {
                AccountService service = context.getBean(AccountService.class);
                long start = System.nanoTime();
                assertThatExceptionOfType(ObjectOptimisticLockingFailureException.class)
                    .isThrownBy(() -> service.replace("stale", 0, 500));
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(service.backendPids("stale")).as("attempts, which took %d ms", took.toMillis()).hasSize(3);
                assertThat(took).isLessThan(Duration.ofSeconds(5));
                assertThat(server.queryColumn("SELECT balance || ' v' || version FROM jpa_accounts WHERE id = 'stale'"))
                    .containsExactly("100 v2");
            });
    }

    @Test
    void optimisticLockMaxAttemptsPropertyBoundsTheAttempts() {
        server.execute("INSERT INTO jpa_accounts VALUES ('stale-5', 2, 100)");
        JpaTestApplication.on(server, APPLICATION_NAME)
            .withPropertyValues("resilient.db.retry.optimistic-lock-max-attempts=5")
            .run(context -> {
                AccountService service = context.getBean(AccountService.class);
                assertThatExceptionOfType(ObjectOptimisticLockingFailureException.class)
                    .isThrownBy(() -> service.replace("stale-5", 0, 500));
                assertThat(service.backendPids("stale-5")).as("attempts").hasSize(5);
            });
    }

    /**
     * The conflict resolves once the entity is re-read, so the retry succeeds; and it is retried
     * after the short contention back-off, not the outage back-off (here 1 s without jitter).
     */
    @Test
    void unitOfWorkThatRereadsTheEntityWinsOnItsSecondAttemptAfterAConcurrentUpdate() {
        server.execute("INSERT INTO jpa_accounts VALUES ('interest', 0, 100)");
        JpaTestApplication.on(server, APPLICATION_NAME)
            .withPropertyValues("resilient.db.retry.initial-interval=1s", "resilient.db.retry.max-interval=2s",
                    "resilient.db.retry.contention-max-interval=200ms", "resilient.db.retry.jitter=0")
            .run(context -> {
                AccountService service = context.getBean(AccountService.class);
                service.addInterest("interest", 10);
                assertThat(service.backendPids("interest")).as("attempts").hasSize(2);
                assertThat(server.queryColumn("SELECT balance || ' v' || version FROM jpa_accounts WHERE id = 'interest'"))
                    .containsExactly("1110 v2");
                RetryEvents retries = context.getBean(RetryEvents.class);
                assertThat(retries.events).contains("success after 2");
                assertThat(retries.delays).singleElement()
                    .satisfies(delay -> assertThat(delay).isLessThanOrEqualTo(Duration.ofMillis(200)));
            });
    }

    private static long accounts(PostgresServer server, String id) {
        return server.queryLong("SELECT count(*) FROM jpa_accounts WHERE id = '" + id + "'");
    }

    /** Waits until the given number of the application's backends are inside pg_sleep. */
    private static void awaitSleepingBackends(PostgresServer server, int count) throws InterruptedException {
        String sleeping = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + APPLICATION_NAME
                + "' AND state = 'active' AND query LIKE '%pg_sleep%'";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (server.queryLong(sleeping) < count) {
            assertThat(System.nanoTime()).as("%d backends in pg_sleep within 30 s", count).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

}
