package dev.resilientdb.jpa;

import dev.resilientdb.retry.FailureClassification;
import dev.resilientdb.retry.SqlStateFailureClassifier;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.hibernate.StaleObjectStateException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Optimistic-locking conflicts that reach the retry boundary untranslated, as JPA's
 * {@code OptimisticLockException} from a direct {@code EntityManager} flush, are retried like
 * Spring's {@code OptimisticLockingFailureException}.
 */
class JpaOptimisticLockTests {

    private static final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTable() {
        JpaTestApplication.createTable(server);
    }

    @Test
    void conflictRaisedByADirectEntityManagerFlushIsRetriedAndWinsOnTheSecondAttempt() {
        server.execute("INSERT INTO jpa_accounts VALUES ('em-interest', 0, 100)");
        JpaTestApplication.on(server, "jpa-optimistic-lock-it")
            .withBean(EntityManagerAccountService.class)
            .run(context -> {
                EntityManagerAccountService service = context.getBean(EntityManagerAccountService.class);
                service.addInterest("em-interest", 10);
                assertThat(service.attempts()).as("attempts").isEqualTo(2);
                assertThat(server.queryColumn("SELECT balance || ' v' || version FROM jpa_accounts WHERE id = 'em-interest'"))
                    .containsExactly("1110 v2");
                assertThat(context.getBean(JpaTestApplication.RetryEvents.class).events).contains("success after 2");
            });
    }

    /** Hibernate's own exception, as a native {@code Session} user gets it, is the same conflict. */
    @Test
    void hibernateStaleStateIsAnOptimisticLockingFailureAndRetried() {
        StaleObjectStateException stale = new StaleObjectStateException(Account.class.getName(), "id");
        assertThat(SqlStateFailureClassifier.isOptimisticLockingFailure(new IllegalStateException(stale))).isTrue();
        assertThat(new SqlStateFailureClassifier().classify(stale)).isEqualTo(FailureClassification.TRANSIENT);
    }

}
