package dev.resilientdb.pool;

import java.sql.SQLException;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.SQLExceptionOverride;
import com.zaxxer.hikari.SQLExceptionOverride.Override;
import org.junit.jupiter.api.Test;

import org.springframework.transaction.support.TransactionSynchronizationManager;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the monitor sits in a pool's configuration and judges exceptions; what it does to a real pool
 * on a real demotion is shown by {@code FailoverRetryTests} and {@code FailoverHealthTests}. The pools
 * here are never started.
 */
class FailoverMonitorTests {

    @Test
    void applicationsOwnExceptionOverrideStillJudgesEveryOtherException() {
        try (HikariDataSource pool = new HikariDataSource()) {
            SQLExceptionOverride own = new SQLExceptionOverride() {

                @java.lang.Override
                public Override adjudicate(SQLException ex) {
                    return Override.DO_NOT_EVICT;
                }

            };
            pool.setExceptionOverride(own);
            FailoverMonitor monitor = FailoverMonitor.install(pool);
            assertThat(FailoverMonitor.install(pool)).isSameAs(monitor);
            assertThat(FailoverMonitor.of(pool)).isSameAs(monitor);
            assertThat(monitor.adjudicate(new SQLException("terminating connection", "57P01"))).isEqualTo(Override.DO_NOT_EVICT);
            assertThat(monitor.adjudicate(new SQLException("read-only transaction", "25006"))).isEqualTo(Override.MUST_EVICT);
            assertThat(monitor.failovers()).isEqualTo(1);
        }
    }

    @Test
    void withoutAnOverrideOfItsOwnThePoolKeepsHikariDefaults() {
        try (HikariDataSource pool = new HikariDataSource()) {
            FailoverMonitor monitor = FailoverMonitor.install(pool);
            assertThat(monitor.adjudicate(new SQLException("connection failure", "08006"))).isEqualTo(Override.CONTINUE_EVICT);
            assertThat(monitor.failovers()).isZero();
        }
    }

    @Test
    void readOnlyWriteInAReadOnlyPoolOrSpringTransactionIsTheApplicationsOwn() {
        try (HikariDataSource readOnlyPool = new HikariDataSource()) {
            readOnlyPool.setReadOnly(true);
            FailoverMonitor monitor = FailoverMonitor.install(readOnlyPool);
            assertThat(monitor.adjudicate(new SQLException("read-only transaction", "25006"))).isEqualTo(Override.CONTINUE_EVICT);
            assertThat(monitor.failovers()).isZero();
        }
        try (HikariDataSource pool = new HikariDataSource()) {
            FailoverMonitor monitor = FailoverMonitor.install(pool);
            TransactionSynchronizationManager.setCurrentTransactionReadOnly(true);
            try {
                assertThat(monitor.adjudicate(new SQLException("read-only transaction", "25006")))
                    .isEqualTo(Override.CONTINUE_EVICT);
            }
            finally {
                TransactionSynchronizationManager.setCurrentTransactionReadOnly(false);
            }
            assertThat(monitor.failovers()).isZero();
        }
    }

    @Test
    void signsOfOneFailoverCountOnce() {
        try (HikariDataSource pool = new HikariDataSource()) {
            FailoverMonitor monitor = FailoverMonitor.install(pool);
            monitor.serverSeen(new FailoverMonitor.Server("10.0.0.1", 5432, true), true);
            monitor.adjudicate(new SQLException("read-only transaction", "25006"));
            monitor.adjudicate(new SQLException("read-only transaction", "25006"));
            monitor.serverSeen(new FailoverMonitor.Server("10.0.0.1", 5432, false), true);
            monitor.serverSeen(new FailoverMonitor.Server("10.0.0.2", 5432, true), true);
            assertThat(monitor.failovers()).isEqualTo(1);
            assertThat(monitor.lastSeen()).isEqualTo(new FailoverMonitor.Server("10.0.0.2", 5432, true));
        }
    }

}
