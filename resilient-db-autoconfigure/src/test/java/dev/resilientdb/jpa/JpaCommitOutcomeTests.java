package dev.resilientdb.jpa;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.test.CommitHold;
import dev.resilientdb.test.LostCommitReply;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Commits of a Spring Data JPA application whose reply is lost, resolved by asking the server: the
 * UPDATE is flushed at the commit point, the server is asked for the transaction's id after it, and
 * the caller gets the deposit's result once, or a retry that applies it once.
 */
class JpaCommitOutcomeTests {

    private static final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTable() {
        JpaTestApplication.createTable(server);
        server.execute("INSERT INTO jpa_accounts VALUES ('lost-reply', 0, 100), ('terminated', 0, 100)");
    }

    @Test
    void lostReplyOfACommittedDepositReturnsTheNewBalanceAndAppliesItOnce() {
        LostCommitReply lostReply = LostCommitReply.install(server, "jpa_accounts");
        JpaTestApplication.on(server, "jpa-commit-outcome-it")
            .withBean(LostReplyAccountService.class)
            .withPropertyValues("resilient.db.retry.resolve-commit-outcome=true")
            .run(context -> {
                LostReplyAccountService service = context.getBean(LostReplyAccountService.class);
                lostReply.loseNextCommitReply();
                assertThat(service.deposit("lost-reply", 5, lostReply::armIfDue)).isEqualTo(105);
                assertThat(service.attempts()).isEqualTo(1);
                assertThat(server.queryLong("SELECT balance FROM jpa_accounts WHERE id = 'lost-reply'")).isEqualTo(105);
                assertThat(context.getBean(JpaTestApplication.RetryEvents.class).events).doesNotContain("commit unknown 1");
            });
    }

    @Test
    void backendTerminatedDuringTheCommitOfADepositIsRetriedAndAppliesItOnce() {
        CommitHold hold = CommitHold.install(server, "jpa_accounts");
        JpaTestApplication.on(server, "jpa-commit-outcome-it")
            .withBean(LostReplyAccountService.class)
            .withPropertyValues("resilient.db.retry.resolve-commit-outcome=true")
            .run(context -> {
                LostReplyAccountService service = context.getBean(LostReplyAccountService.class);
                CompletableFuture<Void> terminated = CompletableFuture
                    .runAsync(() -> server.terminateBackend(hold.awaitHeldCommit()));
                assertThat(service.deposit("terminated", 5, hold::arm)).isEqualTo(105);
                terminated.get(30, TimeUnit.SECONDS);
                assertThat(service.attempts()).isEqualTo(2);
                assertThat(server.queryLong("SELECT balance FROM jpa_accounts WHERE id = 'terminated'")).isEqualTo(105);
            });
    }

}
