package dev.resilientdb.sample;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.sample.load.LoadDriver.Outcome;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 1000 concurrent clients against a pool of 20 connections: every request is answered 201, the usage
 * counters equal the number of 201s, and every 201 is exactly one row in the database.
 */
class LoadTests extends SampleHttpTestSupport {

    @Test
    void thousandConcurrentClientsOnTwentyConnectionsGetNoServerErrorAndUsageMatches() {
        LoadDriver.Result result = LoadDriver.run(LoadDriver.Options.of("http://localhost:" + this.port, 1000, 3000),
                System.out);

        assertThat(result.outcomes()).hasSize(3000);
        assertThat(result.statusCounts()).containsOnlyKeys(201);
        assertThat(result.serverErrors()).isZero();
        assertThat(result.connectionErrors()).isZero();
        assertThat(result.usageTotal()).isEqualTo(result.created()).isEqualTo(3000);
        assertThat(result.passed()).isTrue();
        assertEveryCreatedJobStoredExactlyOnce(result);
    }

    static void assertEveryCreatedJobStoredExactlyOnce(LoadDriver.Result result) {
        String accounts = result.outcomes().stream().map(Outcome::account).distinct()
            .map((account) -> "'" + account + "'").collect(Collectors.joining(","));
        List<String> rows = database().queryColumn(
                "SELECT idempotency_key || ' ' || id FROM jobs WHERE account IN (" + accounts + ")");
        Map<String, String> stored = new HashMap<>();
        for (String row : rows) {
            String[] keyAndId = row.split(" ");
            assertThat(stored.put(keyAndId[0], keyAndId[1])).as("key stored twice: " + keyAndId[0]).isNull();
        }
        Map<String, String> created = result.outcomes().stream().filter(Outcome::created)
            .collect(Collectors.toMap(Outcome::idempotencyKey, Outcome::jobId));
        assertThat(stored).containsAllEntriesOf(created);
        // A row the client never got a 201 for may exist only for a request that got no response at all.
        stored.keySet().removeAll(created.keySet());
        List<String> unanswered = result.outcomes().stream().filter(Outcome::connectionError)
            .map(Outcome::idempotencyKey).toList();
        assertThat(unanswered).containsAll(stored.keySet());
    }

}
