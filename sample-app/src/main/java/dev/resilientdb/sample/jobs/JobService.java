package dev.resilientdb.sample.jobs;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.Optional;
import java.util.UUID;

import dev.resilientdb.retry.RetryableTransactional;

import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * Stores jobs and counts each account's usage, both in one transaction, so that a job and the
 * count it adds can never disagree. Every method is a unit of work that the starter's retry engine
 * runs again, in a new transaction, when it fails transiently (lost connection, serialization
 * failure, deadlock, too many connections); no retry loop is written here.
 */
@Service
public class JobService {

    static final String SUBMITTED = "SUBMITTED";

    private static final String JOB_COLUMNS = "id, account, type, status, created_at";

    private static final RowMapper<Job> JOB = JobService::mapJob;

    private final JdbcClient jdbc;

    public JobService(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Stores a job for the idempotency key and counts it against the account, or, when the key was
     * used before, returns the job stored then and counts nothing.
     * <p>
     * Running this unit of work twice has the same effect as running it once: the second run finds
     * the key taken ({@code ON CONFLICT DO NOTHING} inserts nothing) and neither inserts nor counts.
     * That is why it is marked {@code idempotent = true}: when a commit fails over a broken
     * connection and nobody knows whether it committed, re-running it is safe, so the retry engine
     * may try again instead of raising {@code CommitOutcomeUnknownException}. The same property
     * lets a client re-send a request whose answer it never got.
     * @throws IdempotencyKeyReusedException if the key was used for a different account or type
     */
    @RetryableTransactional(idempotent = true)
    public JobSubmission submit(String account, String type, String idempotencyKey) {
        Optional<Job> inserted = this.jdbc
            .sql("INSERT INTO jobs (" + JOB_COLUMNS + ", idempotency_key) VALUES (?, ?, ?, ?, now(), ?)"
                    + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING " + JOB_COLUMNS)
            .params(UUID.randomUUID(), account, type, SUBMITTED, idempotencyKey)
            .query(JOB)
            .optional();
        if (inserted.isEmpty()) {
            // Under READ COMMITTED this statement sees the row whose insert made ours do nothing:
            // ON CONFLICT waited for that transaction to commit.
            Job existing = this.jdbc.sql("SELECT " + JOB_COLUMNS + " FROM jobs WHERE idempotency_key = ?")
                .param(idempotencyKey)
                .query(JOB)
                .single();
            if (!existing.account().equals(account) || !existing.type().equals(type)) {
                throw new IdempotencyKeyReusedException();
            }
            return new JobSubmission(existing, true);
        }
        this.jdbc.sql("INSERT INTO account_usage (account, jobs) VALUES (?, 1)"
                + " ON CONFLICT (account) DO UPDATE SET jobs = account_usage.jobs + 1")
            .param(account)
            .update();
        return new JobSubmission(inserted.get(), false);
    }

    /** The job with the given id, if there is one. A read: retrying it is always safe. */
    @RetryableTransactional(readOnly = true, idempotent = true)
    public Optional<Job> find(UUID id) {
        return this.jdbc.sql("SELECT " + JOB_COLUMNS + " FROM jobs WHERE id = ?").param(id).query(JOB).optional();
    }

    /** How many jobs the account has submitted; 0 for an account never seen. A read: retrying it is safe. */
    @RetryableTransactional(readOnly = true, idempotent = true)
    public AccountUsage usage(String account) {
        long jobs = this.jdbc.sql("SELECT jobs FROM account_usage WHERE account = ?")
            .param(account)
            .query(Long.class)
            .optional()
            .orElse(0L);
        return new AccountUsage(account, jobs);
    }

    private static Job mapJob(ResultSet row, int rowNumber) throws SQLException {
        return new Job(row.getObject("id", UUID.class), row.getString("account"), row.getString("type"),
                row.getString("status"), row.getObject("created_at", OffsetDateTime.class).toInstant());
    }

}
