package dev.resilientdb.retry;

import java.net.SocketException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.dao.CannotAcquireLockException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;

import static dev.resilientdb.retry.FailureClassification.COMMIT_OUTCOME_UNKNOWN;
import static dev.resilientdb.retry.FailureClassification.NOT_TRANSIENT;
import static dev.resilientdb.retry.FailureClassification.TRANSIENT;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The classification rules, on the exception shapes that Spring, HikariCP and pgjdbc produce. What
 * PostgreSQL really raises in each situation is shown by {@link RetryIntegrationTests}.
 */
class SqlStateFailureClassifierTests {

    private final SqlStateFailureClassifier classifier = new SqlStateFailureClassifier();

    @ParameterizedTest
    @ValueSource(strings = { "08000", "08001", "08003", "08006", "53300", "57P01", "57P02", "57P03", "40001", "40P01",
            "25006" })
    void outagesConcurrencyFailuresAndDemotedServersAreTransientEvenWhenSpringCallsThemNonTransient(String state) {
        SQLException sql = new SQLException("failure", state);
        assertThat(this.classifier.classify(sql)).isEqualTo(TRANSIENT);
        assertThat(this.classifier.classify(new DataAccessResourceFailureException("translated", sql))).isEqualTo(TRANSIENT);
        assertThat(this.classifier.classify(new CannotCreateTransactionException("begin", sql))).isEqualTo(TRANSIENT);
    }

    @ParameterizedTest
    @ValueSource(strings = { "23505", "23503", "42601", "42P01", "42501", "28P01", "28000", "22001", "22P02", "57014",
            "XX000" })
    void dataSyntaxAuthenticationAndTimeoutFailuresAreNotTransient(String state) {
        SQLException sql = new SQLException("failure", state);
        assertThat(this.classifier.classify(new DataIntegrityViolationException("translated", sql))).isEqualTo(NOT_TRANSIENT);
    }

    /** PgBouncer sends its refusals as 08P01, a connection exception; these never mend by waiting. */
    @Test
    void pgBouncerRefusalsOfTheLoginOrOfAStartupParameterAreNotTransient() {
        assertThat(this.classifier.classify(new SQLException("FATAL: unsupported startup parameter: options", "08P01")))
            .isEqualTo(NOT_TRANSIENT);
        assertThat(this.classifier.classify(new SQLException("FATAL: password authentication failed", "08P01")))
            .isEqualTo(NOT_TRANSIENT);
        assertThat(this.classifier.classify(new SQLException("FATAL: server login has been failing, try again later "
                + "(server_login_retry)", "08P01"))).isEqualTo(TRANSIENT);
    }

    @Test
    void statementTimeoutIsNotRetriedAlthoughSpringCallsItTransient() {
        assertThat(this.classifier.classify(new QueryTimeoutException("cancelled", new SQLException("x", "57014"))))
            .isEqualTo(NOT_TRANSIENT);
        assertThat(this.classifier.classify(new QueryTimeoutException("cancelled"))).isEqualTo(NOT_TRANSIENT);
    }

    @Test
    void transactionResolutionUnknownIsItsOwnOutcome() {
        assertThat(this.classifier.classify(new SQLException("x", "08007"))).isEqualTo(COMMIT_OUTCOME_UNKNOWN);
        assertThat(this.classifier.classify(new CommitOutcomeUnknownException("commit",
                new TransactionSystemException("x", new SQLException("io", "08006"))))).isEqualTo(COMMIT_OUTCOME_UNKNOWN);
    }

    @Test
    void failuresWithoutSqlStateAreClassifiedByType() {
        assertThat(this.classifier.classify(new CannotGetJdbcConnectionException("pool",
                new SQLTransientConnectionException("HikariPool-1 - Connection is not available")))).isEqualTo(TRANSIENT);
        assertThat(this.classifier.classify(new SQLRecoverableException("gone"))).isEqualTo(TRANSIENT);
        assertThat(this.classifier.classify(new RuntimeException(new SocketException("application's own I/O"))))
            .isEqualTo(NOT_TRANSIENT);
        assertThat(this.classifier.classify(new CannotAcquireLockException("lock"))).isEqualTo(TRANSIENT);
        assertThat(this.classifier.classify(new IllegalArgumentException("bug"))).isEqualTo(NOT_TRANSIENT);
    }

    @Test
    void extraSqlStatesByPropertyAndNonRetryableWins() {
        SqlStateFailureClassifier custom = new SqlStateFailureClassifier(List.of("55P03", "57014"), List.of("40P01", "08"));
        assertThat(custom.classify(new SQLException("lock not available", "55P03"))).isEqualTo(TRANSIENT);
        assertThat(custom.classify(new SQLException("timeout", "57014"))).isEqualTo(TRANSIENT);
        assertThat(custom.classify(new SQLException("deadlock", "40P01"))).isEqualTo(NOT_TRANSIENT);
        assertThat(custom.classify(new SQLException("io", "08006"))).isEqualTo(NOT_TRANSIENT);
        assertThat(custom.classify(new SQLException("serialization", "40001"))).isEqualTo(TRANSIENT);
    }

    @Test
    void connectionFailuresAreRecognisedForCommits() {
        assertThat(SqlStateFailureClassifier.isConnectionFailure(new TransactionSystemException("commit",
                new SQLException("io", "08006")))).isTrue();
        assertThat(SqlStateFailureClassifier.isConnectionFailure(new SQLException("shutdown", "57P01"))).isTrue();
        assertThat(SqlStateFailureClassifier.isConnectionFailure(new SQLException("serialization", "40001"))).isFalse();
        assertThat(SqlStateFailureClassifier.isConnectionFailure(new SQLException("deferred", "23505"))).isFalse();
        assertThat(SqlStateFailureClassifier.isConnectionFailure(new TransactionSystemException("rollback",
                new SQLException("Connection is closed")))).isTrue();
        assertThat(SqlStateFailureClassifier.isConnectionFailure(new IllegalStateException("application bug"))).isFalse();
    }

    @Test
    void sqlStateClassTagsTheFailure() {
        assertThat(SqlStates.classOf(new CannotCreateTransactionException("x", new SQLException("x", "53300")))).isEqualTo("53");
        assertThat(SqlStates.classOf(new IllegalStateException())).isEqualTo("none");
    }

}
