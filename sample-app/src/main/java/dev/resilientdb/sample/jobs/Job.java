package dev.resilientdb.sample.jobs;

import java.time.Instant;
import java.util.UUID;

/**
 * A submitted job, as stored and as returned over HTTP.
 *
 * @param id the job's id
 * @param account the account that submitted it and whose usage it counts against
 * @param type what kind of job it is
 * @param status its state; {@code SUBMITTED} for a new job
 * @param createdAt when it was stored
 */
public record Job(UUID id, String account, String type, String status, Instant createdAt) {
}
