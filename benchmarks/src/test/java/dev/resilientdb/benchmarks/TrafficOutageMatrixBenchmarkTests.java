package dev.resilientdb.benchmarks;

import java.util.List;

import dev.resilientdb.benchmarks.TrafficOutageMatrixBenchmark.Figures;
import dev.resilientdb.benchmarks.TrafficOutageMatrixBenchmark.Outage;
import dev.resilientdb.benchmarks.TrafficOutageMatrixBenchmark.Outcome;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The matrix benchmark's figures from known outcomes: which requests count as late, as held, and
 * how the first 201 after the database's return is timed.
 */
class TrafficOutageMatrixBenchmarkTests {

    private static final long S = 1_000_000_000L;

    /** Began at 100 s, started again at 125 s, back at 126 s: late from 111 s (deadline 10 s + 1 s). */
    private static final Outage LONG = new Outage(100 * S, 125 * S, 126 * S);

    @Test
    void lateRequestsAreThoseStartedFromDeadlinePlusOneSecondUntilTheRestart() {
        Figures figures = TrafficOutageMatrixBenchmark.figures(true, LONG,
                List.of(new Outcome(503, "2", 110 * S, 110 * S + S / 100), new Outcome(503, "2", 111 * S, 111 * S + S / 50),
                        new Outcome(503, null, 112 * S, 112 * S + S / 50), new Outcome(503, "2", 124 * S, 124 * S + 2 * S),
                        new Outcome(201, null, 125 * S, 126 * S + S / 10)));
        assertThat(figures.late()).isEqualTo("1/3; p50 20, max 2000");
        assertThat(figures.failed()).isEqualTo(4);
        assertThat(figures.firstSuccessMillis()).isEqualTo(100);
    }

    @Test
    void heldAreRequestsUnderWayInTheOutageThatEndPastDeadlinePlusConnectionTimeoutPlusOneSecond() {
        Figures figures = TrafficOutageMatrixBenchmark.figures(true, LONG,
                List.of(new Outcome(503, "2", 99 * S, 112 * S), new Outcome(503, "2", 101 * S, 113 * S + 1),
                        new Outcome(503, "2", 120 * S, 120 * S + S / 2), new Outcome(503, "2", 120 * S, 121 * S + 1)));
        assertThat(figures.held()).isEqualTo(2);
    }

    @Test
    void shortOutageCountsFailuresAndFailuresASecondAfterTheReturn() {
        Outage restart = new Outage(100 * S, -1, 102 * S);
        Figures figures = TrafficOutageMatrixBenchmark.figures(false, restart,
                List.of(new Outcome(201, null, 101 * S, 102 * S + S / 4), new Outcome(503, "2", 102 * S, 102 * S + S / 2),
                        new Outcome(503, "2", 103 * S + 1, 103 * S + S / 2)));
        assertThat(figures.late()).isEqualTo("–");
        assertThat(figures.failedCell()).isEqualTo("2 of 3");
        assertThat(figures.failedAfterBack()).isEqualTo(1);
        assertThat(figures.firstSuccessMillis()).isEqualTo(250);
    }

}
