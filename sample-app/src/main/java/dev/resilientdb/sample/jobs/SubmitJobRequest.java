package dev.resilientdb.sample.jobs;

/**
 * Body of {@code POST /api/jobs}.
 *
 * @param account the account to count the job against, 1 to 64 characters
 * @param type the kind of job, 1 to 64 characters
 */
public record SubmitJobRequest(String account, String type) {
}
