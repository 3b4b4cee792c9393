package dev.resilientdb.retry;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.dao.DataAccessResourceFailureException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A fault said once per pool: the units of work whose retries overlap, or follow within the quiet
 * period, are one episode, summed up in one WARN line when the pool has been quiet; a unit of work
 * that retries after that opens a new one.
 */
@ExtendWith(OutputCaptureExtension.class)
class RetryEpisodesTests {

    private static final Duration QUIET = Duration.ofMillis(300);

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void overlappingRetriesOfAPoolAreOneSummaryNamingEachSqlStateOrTheExceptionType(CapturedOutput output) {
        try (RetryEpisodes episodes = new RetryEpisodes(QUIET)) {
            RetryEpisodes.Episode first = episodes.join("pool-a");
            RetryEpisodes.Episode second = episodes.join("pool-a");
            assertThat(second).isSameAs(first);
            first.failed(new DataAccessResourceFailureException("restart", new SQLException("terminated", "57P01")));
            second.failed(new SQLTransientConnectionException("pool-a - Connection is not available"));
            first.ended(true, Duration.ofMillis(1200).toNanos());
            second.ended(true, Duration.ofMillis(2400).toNanos());
            List<String> summaries = await().atMost(WAIT).until(() -> summaries(output, "pool-a"), (lines) -> !lines.isEmpty());
            assertThat(summaries).singleElement().asString()
                .contains("pool 'pool-a': 2 units of work retried after transient failures "
                        + "(SQLSTATE 57P01, none (SQLTransientConnectionException))")
                .contains("longest wait 2400ms; all recovered");
        }
    }

    @Test
    void aUnitOfWorkThatRetriesAfterTheQuietPeriodOpensANewEpisode(CapturedOutput output) {
        try (RetryEpisodes episodes = new RetryEpisodes(QUIET)) {
            RetryEpisodes.Episode first = episodes.join("pool-b");
            first.failed(new SQLException("refused", "08001"));
            first.ended(false, Duration.ofMillis(500).toNanos());
            await().atMost(WAIT).until(() -> summaries(output, "pool-b"), (lines) -> lines.size() == 1);
            RetryEpisodes.Episode second = episodes.join("pool-b");
            assertThat(second).isNotSameAs(first);
            second.failed(new SQLException("deadlock", "40P01"));
            second.ended(true, Duration.ofMillis(50).toNanos());
            List<String> summaries = await().atMost(WAIT).until(() -> summaries(output, "pool-b"), (lines) -> lines.size() == 2);
            assertThat(summaries.get(0)).contains("1 unit of work retried", "(SQLSTATE 08001)", "0 recovered, 1 gave up");
            assertThat(summaries.get(1)).contains("1 unit of work retried", "(SQLSTATE 40P01)", "all recovered");
        }
    }

    @Test
    void closingSaysWhatAnEpisodeStillUnderWayHasDone(CapturedOutput output) {
        RetryEpisodes episodes = new RetryEpisodes(QUIET);
        RetryEpisodes.Episode episode = episodes.join("pool-c");
        episode.failed(new SQLException("shutting down", "57P03"));
        episodes.close();
        assertThat(summaries(output, "pool-c")).singleElement().asString()
            .contains("(SQLSTATE 57P03)", "0 recovered, 0 gave up, 1 still retrying");
    }

    private static List<String> summaries(CapturedOutput output, String pool) {
        return output.getAll().lines().filter((line) -> line.contains("WARN") && line.contains("pool '" + pool + "'")).toList();
    }

}
