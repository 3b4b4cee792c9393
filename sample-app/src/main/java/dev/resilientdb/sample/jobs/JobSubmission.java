package dev.resilientdb.sample.jobs;

/**
 * The outcome of submitting a job.
 *
 * @param job the job stored for the idempotency key
 * @param replayed {@code true} when the key had been used before, so this is the first request's
 * job and nothing was counted again
 */
public record JobSubmission(Job job, boolean replayed) {
}
