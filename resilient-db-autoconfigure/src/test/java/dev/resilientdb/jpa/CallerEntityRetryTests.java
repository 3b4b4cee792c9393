package dev.resilientdb.jpa;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.resilientdb.jpa.CallerEntityService.DepositRequest;
import dev.resilientdb.jpa.CallerEntityService.Fault;
import dev.resilientdb.jpa.JpaTestApplication.Answer;
import dev.resilientdb.retry.EntityStateNotRetryableException;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.context.runner.WebApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A retried attempt never sees the failed attempt's in-memory changes to entities the caller holds:
 * each idiom of a Spring Data JPA deposit (the entity passed in and saved, passed in and only dirty
 * checked, or loaded inside by id), with open-in-view on and off, a real fault in the first attempt
 * (the backend terminated before the flush, or a serialization failure at COMMIT after it), over
 * real HTTP on real PostgreSQL. Either the retry is correct (the deposit applied once, and the
 * second attempt started from the caller's state) or it is refused with its own problem response
 * and nothing is written; never twice, never lost with a success.
 */
class CallerEntityRetryTests {

    private static final String APPLICATION_NAME = "jpa-caller-entities-it";

    private static final String ENTITY_STATE_NOT_RETRYABLE = "tag:resilientdb.dev,2026:entity-state-not-retryable";

    private static final PostgresServer server = PostgresServers.shared();

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void createTables() {
        JpaTestApplication.createTable(server);
        server.execute("DROP TABLE IF EXISTS jpa_deposits");
        server.execute("CREATE TABLE jpa_deposits (id text PRIMARY KEY, account text NOT NULL, amount int NOT NULL)");
        server.execute("GRANT ALL ON jpa_deposits TO " + PostgresServer.APP_USER);
        // A deferred constraint trigger runs inside COMMIT, after the flush: the transaction that set
        // resilientdb.fail_commit fails there with 40001, as a serialization failure found at commit does.
        server.execute("""
                CREATE OR REPLACE FUNCTION jpa_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF current_setting('resilientdb.fail_commit', true) = 'on' THEN
                    RAISE EXCEPTION 'serialization failure at commit (test fault)' USING ERRCODE = '40001';
                  END IF;
                  RETURN NULL;
                END $$""");
        server.execute("CREATE CONSTRAINT TRIGGER jpa_accounts_fail_commit AFTER UPDATE ON jpa_accounts "
                + "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jpa_fail_commit()");
    }

    static Stream<Arguments> matrix() {
        List<Arguments> cases = new ArrayList<>();
        for (String idiom : List.of("saved", "dirty-checked", "by-id")) {
            for (boolean openInView : List.of(true, false)) {
                for (Fault fault : List.of(Fault.FLUSH, Fault.COMMIT)) {
                    cases.add(Arguments.of(idiom, openInView, fault));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, open-in-view={1}, fault at {2}")
    @MethodSource("matrix")
    void depositIsAppliedOnceOrRefusedWithNothingWritten(String idiom, boolean openInView, Fault fault) {
        String account = idiom + "-" + openInView + "-" + fault;
        server.execute("INSERT INTO jpa_accounts VALUES ('" + account + "', 0, 1000)");
        application(openInView).run(context -> {
            HttpResponse<String> response = HTTP.send(HttpRequest
                .newBuilder(URI.create("http://localhost:" + JpaTestApplication.port(context) + "/caller-entities/" + account
                        + "/" + idiom + "?amount=10&deposit=" + account + "&fault=" + fault))
                .timeout(Duration.ofSeconds(90))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
            Answer answer = new Answer(response.statusCode(), response.body());
            String retryAfter = response.headers().firstValue("Retry-After").map(value -> " Retry-After " + value).orElse("");
            List<Integer> seen = context.getBean(CallerEntityService.class).seenBalances(account);
            String outcome = answer.status() + problemType(answer) + retryAfter + ", balance " + balance(account) + ", deposits "
                    + depositsOf(account) + ", attempts started from " + seen;
            assertThat(outcome).as(answer.body()).isEqualTo(expectedOutcome(idiom, openInView, fault));
        });
    }

    /**
     * The decision matrix. An entity the request's EntityManager (open-in-view) manages is detached
     * by the rollback with attempt 1's changes, and a change that relies on dirty checking can never
     * count again: refused, nothing written. A detached entity is put back as the caller passed it
     * before the retry. An entity loaded inside is correct as it is.
     */
    private static String expectedOutcome(String idiom, boolean openInView, Fault fault) {
        if (openInView && !"by-id".equals(idiom)) {
            return "503 entity-state-not-retryable Retry-After 2, balance 1000, deposits 0, attempts started from [1000]";
        }
        if ("dirty-checked".equals(idiom)) {
            // A detached entity's change that is never saved is never written, fault or not. With nothing
            // to flush, the terminated backend is first met by COMMIT: an unknown outcome, not retried;
            // and no UPDATE means the fault at commit (a trigger on UPDATE) does not fire.
            return (fault == Fault.FLUSH)
                    ? "503 commit-outcome-unknown, balance 1000, deposits 0, attempts started from [1000]"
                    : "200, balance 1000, deposits 1, attempts started from [1000]";
        }
        return "200, balance 1010, deposits 1, attempts started from [1000, 1000]";
    }

    private static String problemType(Answer answer) {
        int type = answer.body().indexOf("tag:resilientdb.dev,2026:");
        if (type < 0) {
            return "";
        }
        String rest = answer.body().substring(type + "tag:resilientdb.dev,2026:".length());
        return " " + rest.substring(0, rest.indexOf('"'));
    }

    /**
     * A new entity passed in: Hibernate gives it a version when the failed attempt persists it, and
     * a retry that kept that version would merge a row that does not exist.
     */
    @Test
    void newEntityPassedInIsPersistedOnceAfterTheRetry() {
        application(false).run(context -> {
            CallerEntityService service = context.getBean(CallerEntityService.class);
            Account account = new Account("new", null, 1000);
            service.depositSaved(account, 10, "new", Fault.FLUSH);
            assertThat(service.seenBalances("new")).containsExactly(1000, 1000);
            assertThat(server.queryColumn("SELECT balance || ' v' || version FROM jpa_accounts WHERE id = 'new'"))
                .containsExactly("1010 v0");
        });
    }

    /**
     * An entity with an association is not put back before a retry: after a transient failure it is
     * refused, with what to change, and nothing is written.
     */
    @Test
    void entityWithAnAssociationIsNotRetriedAndNothingIsWritten() {
        server.execute("INSERT INTO jpa_accounts VALUES ('owner', 0, 1000)");
        server.execute("DROP TABLE IF EXISTS jpa_statements");
        server.execute("CREATE TABLE jpa_statements (id text PRIMARY KEY, version bigint NOT NULL, "
                + "account_id text, total int NOT NULL)");
        server.execute("GRANT ALL ON jpa_statements TO " + PostgresServer.APP_USER);
        server.execute("INSERT INTO jpa_statements VALUES ('december', 0, 'owner', 0)");
        application(false).run(context -> {
            CallerEntityService service = context.getBean(CallerEntityService.class);
            MonthlyStatement statement = context.getBean(MonthlyStatementRepository.class).findById("december").orElseThrow();
            assertThatExceptionOfType(EntityStateNotRetryableException.class)
                .isThrownBy(() -> service.addToStatement(statement, 10, Fault.FLUSH))
                .withMessageContaining("argument 0 (" + MonthlyStatement.class.getName() + ")")
                .withMessageContaining("'account' is MANY_TO_ONE")
                .withMessageContaining("Pass the id");
            assertThat(service.seenBalances("december")).containsExactly(0);
            assertThat(server.queryLong("SELECT total FROM jpa_statements WHERE id = 'december'")).isZero();
            assertThat(depositsOf("december")).isZero();
        });
    }

    /**
     * A plain argument object is not an entity: the engine cannot snapshot it, and passes it to each
     * attempt as it is, with what attempt 1 changed in it (documented in docs/retries.md).
     */
    @Test
    void plainMutableArgumentReachesTheRetryAsTheFailedAttemptLeftIt() {
        server.execute("INSERT INTO jpa_accounts VALUES ('plain', 0, 1000)");
        application(false).run(context -> {
            CallerEntityService service = context.getBean(CallerEntityService.class);
            service.depositRequest(new DepositRequest("plain", "plain", 10), Fault.FLUSH);
            assertThat(service.seenBalances("plain")).as("amounts the attempts started from").containsExactly(10, 11);
            assertThat(balance("plain")).isEqualTo(1012);
            assertThat(depositsOf("plain")).isEqualTo(1);
        });
    }

    /**
     * Exactly once under load: threads deposit concurrently in every idiom, with faults during the
     * flush and during COMMIT; every acknowledged deposit is in the database once, every refused one
     * not at all, and each balance is the sum of its committed deposits.
     */
    @ParameterizedTest(name = "open-in-view={0}")
    @ValueSource(booleans = { true, false })
    void everyAcknowledgedDepositIsAppliedExactlyOnceUnderLoad(boolean openInView) throws Exception {
        int threads = 4;
        int depositsPerThread = 12;
        List<String> idioms = openInView ? List.of("saved", "dirty-checked", "by-id") : List.of("saved", "by-id");
        Fault[] faults = Fault.values();
        for (int t = 0; t < threads; t++) {
            server.execute("INSERT INTO jpa_accounts VALUES ('load-" + t + "', 0, 1000)");
        }
        application(openInView).run(context -> {
            int port = JpaTestApplication.port(context);
            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            List<String> unexpected = new java.util.concurrent.CopyOnWriteArrayList<>();
            ExecutorService executor = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> running = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    String account = "load-" + t;
                    running.add(executor.submit(() -> {
                        for (int i = 0; i < depositsPerThread; i++) {
                            String idiom = idioms.get(i % idioms.size());
                            Fault fault = faults[(i / idioms.size()) % faults.length];
                            String deposit = account + "-" + i;
                            Answer answer = JpaTestApplication.postAndWait(port, "/caller-entities/" + account + "/"
                                    + idiom + "?amount=" + (i + 1) + "&deposit=" + deposit + "&fault=" + fault);
                            if (answer.status() == 200) {
                                acknowledged.add(deposit);
                            }
                            else if (!(answer.status() == 503 && answer.body().contains(ENTITY_STATE_NOT_RETRYABLE)
                                    && fault != Fault.NONE && !"by-id".equals(idiom))) {
                                unexpected.add(deposit + " " + idiom + " " + fault + ": " + answer.status() + " "
                                        + answer.body());
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> thread : running) {
                    thread.get(5, TimeUnit.MINUTES);
                }
            }
            finally {
                executor.shutdownNow();
            }
            assertThat(unexpected).isEmpty();
            assertThat(new HashSet<>(server.queryColumn("SELECT id FROM jpa_deposits"))).as("committed deposits")
                .isEqualTo(acknowledged);
            for (int t = 0; t < threads; t++) {
                String account = "load-" + t;
                long committed = server.queryLong(
                        "SELECT coalesce(sum(amount), 0) FROM jpa_deposits WHERE account = '" + account + "'");
                assertThat(balance(account)).as("balance of %s", account).isEqualTo(1000 + committed);
            }
            assertThat(acknowledged).as("acknowledged deposits")
                .hasSizeGreaterThanOrEqualTo(threads * depositsPerThread / 2);
        });
    }

    private static WebApplicationContextRunner application(boolean openInView) {
        return JpaTestApplication.on(server, APPLICATION_NAME)
            .withUserConfiguration(CallerEntityService.class, CallerEntityController.class)
            .withPropertyValues("spring.jpa.open-in-view=" + openInView);
    }

    private static long balance(String account) {
        return server.queryLong("SELECT balance FROM jpa_accounts WHERE id = '" + account + "'");
    }

    private static long depositsOf(String account) {
        return server.queryLong("SELECT count(*) FROM jpa_deposits WHERE id = '" + account + "'");
    }

}
