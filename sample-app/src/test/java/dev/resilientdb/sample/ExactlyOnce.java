package dev.resilientdb.sample;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.sample.load.LoadDriver.Outcome;
import dev.resilientdb.test.PostgresServer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks a load run against the database: every job the server answered 201 for is stored exactly
 * once, under the id the client got, and the usage counters agree with the stored jobs.
 */
final class ExactlyOnce {

    private ExactlyOnce() {
    }

    /** Every 201 is one row with the returned id; rows without a 201 only for requests that got no answer. */
    static void assertEveryCreatedJobStoredExactlyOnce(LoadDriver.Result result, PostgresServer database) {
        List<Outcome> unacknowledged = storedWithout201(result, database);
        assertThat(unacknowledged).as("stored, but answered with an HTTP status other than 201")
            .allMatch(Outcome::connectionError);
    }

    /**
     * Every 201 is one row with the returned id, and returns the requests whose job is stored without
     * the client having got a 201 for it: their outcome was unknown to the client (no answer, or a 503
     * after a commit whose outcome the application could not learn before the retry deadline).
     */
    static List<Outcome> storedWithout201(LoadDriver.Result result, PostgresServer database) {
        String accounts = result.outcomes().stream().map(Outcome::account).distinct()
            .map((account) -> "'" + account + "'").collect(Collectors.joining(","));
        List<String> rows = database.queryColumn(
                "SELECT idempotency_key || ' ' || id FROM jobs WHERE account IN (" + accounts + ")");
        Map<String, String> stored = new HashMap<>();
        for (String row : rows) {
            String[] keyAndId = row.split(" ");
            assertThat(stored.put(keyAndId[0], keyAndId[1])).as("key stored twice: " + keyAndId[0]).isNull();
        }
        Map<String, String> created = result.outcomes().stream().filter(Outcome::created)
            .collect(Collectors.toMap(Outcome::idempotencyKey, Outcome::jobId));
        assertThat(stored).containsAllEntriesOf(created);
        stored.keySet().removeAll(created.keySet());
        List<Outcome> unacknowledged = result.outcomes().stream()
            .filter((outcome) -> stored.containsKey(outcome.idempotencyKey()))
            .toList();
        assertThat(unacknowledged).hasSameSizeAs(stored.keySet());
        return unacknowledged;
    }

    /** The usage counters of the run's accounts add up to the jobs stored for them. */
    static void assertUsageEqualsStoredJobs(LoadDriver.Result result, PostgresServer database) {
        String accounts = result.outcomes().stream().map(Outcome::account).distinct()
            .map((account) -> "'" + account + "'").collect(Collectors.joining(","));
        long stored = database.queryLong("SELECT count(*) FROM jobs WHERE account IN (" + accounts + ")");
        long counted = database.queryLong(
                "SELECT coalesce(sum(jobs), 0) FROM account_usage WHERE account IN (" + accounts + ")");
        assertThat(counted).isEqualTo(stored);
    }

}
