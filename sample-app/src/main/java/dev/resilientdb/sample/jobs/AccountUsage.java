package dev.resilientdb.sample.jobs;

/**
 * How many jobs an account has submitted.
 *
 * @param account the account
 * @param jobs the number of jobs it has submitted; 0 for an account never seen
 */
public record AccountUsage(String account, long jobs) {
}
