package dev.resilientdb.jpa;

import dev.resilientdb.jpa.JpaTestApplication.RetryEvents;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the commit point of a JPA transaction is: after everything the transaction writes, also
 * what {@code BEFORE_COMMIT} callbacks add (the transactional outbox), has been flushed. A
 * connection lost before then cannot have committed anything.
 */
class JpaCommitPointTests {

    private static final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTables() {
        JpaTestApplication.createTable(server);
        server.execute("DROP TABLE IF EXISTS jpa_outbox");
        server.execute("CREATE TABLE jpa_outbox (id uuid PRIMARY KEY, account_id text NOT NULL)");
        server.execute("GRANT ALL ON jpa_outbox TO " + PostgresServer.APP_USER);
    }

    @Test
    void connectionLostWhileFlushingTheOutboxRowOfABeforeCommitListenerIsRetriedAndWritesOnce() {
        JpaTestApplication.on(server, "jpa-commit-point-it")
            .withBean(OutboxAccountService.class)
            .withBean(OutboxAccountService.OutboxWriter.class)
            .run(context -> {
                OutboxAccountService service = context.getBean(OutboxAccountService.class);
                service.open("outbox");
                assertThat(service.backendPids("outbox")).as("backends of the attempts").hasSize(2).doesNotHaveDuplicates();
                assertThat(server.queryLong("SELECT count(*) FROM jpa_accounts WHERE id = 'outbox'")).isEqualTo(1);
                assertThat(server.queryLong("SELECT count(*) FROM jpa_outbox WHERE account_id = 'outbox'")).isEqualTo(1);
                assertThat(context.getBean(RetryEvents.class).events).doesNotContain("commit unknown 1")
                    .contains("success after 2");
            });
    }

}
