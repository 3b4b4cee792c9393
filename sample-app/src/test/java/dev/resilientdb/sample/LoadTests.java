package dev.resilientdb.sample;

import dev.resilientdb.sample.load.LoadDriver;
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
        ExactlyOnce.assertEveryCreatedJobStoredExactlyOnce(result, database());
    }

}
