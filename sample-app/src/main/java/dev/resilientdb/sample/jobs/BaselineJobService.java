package dev.resilientdb.sample.jobs;

import java.util.Optional;
import java.util.UUID;

import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.context.annotation.Profile;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.resilience.annotation.EnableResilientMethods;
import org.springframework.resilience.annotation.Retryable;
import org.springframework.stereotype.Service;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.annotation.Transactional;

/**
 * The same unit of work as {@link JobService}, written the way applications without the starter do
 * it: Spring Framework's {@code @Retryable} around {@code @Transactional}. Active only under the
 * {@code baseline} profile ({@code application-baseline.yml} also turns the starter off), as the
 * "plain Spring Boot" side of the side-by-side benchmark in {@code benchmarks/}; the sample itself
 * never uses it.
 * <p>
 * The retry is a diligent hand-written one: it also retries Spring's non-transient connection
 * failures, which a retry on {@code TransientDataAccessException} alone would miss. Three attempts
 * (two retries), 100 ms back-off doubling up to 1 s, outside the transaction (Spring Framework puts its
 * retry advice before the advisors already on the bean).
 */
@Service
@Primary
@Profile("baseline")
public class BaselineJobService extends JobService {

    public BaselineJobService(JdbcClient jdbc) {
        super(jdbc);
    }

    @Override
    @Retryable(includes = { TransientDataAccessException.class, DataAccessResourceFailureException.class,
            CannotCreateTransactionException.class, TransactionSystemException.class }, maxRetries = 2,
            delay = 100, multiplier = 2, maxDelay = 1000)
    @Transactional
    public JobSubmission submit(String account, String type, String idempotencyKey) {
        return super.submit(account, type, idempotencyKey);
    }

    @Override
    @Retryable(includes = { TransientDataAccessException.class, DataAccessResourceFailureException.class,
            CannotCreateTransactionException.class, TransactionSystemException.class }, maxRetries = 2,
            delay = 100, multiplier = 2, maxDelay = 1000)
    @Transactional(readOnly = true)
    public Optional<Job> find(UUID id) {
        return super.find(id);
    }

    @Override
    @Retryable(includes = { TransientDataAccessException.class, DataAccessResourceFailureException.class,
            CannotCreateTransactionException.class, TransactionSystemException.class }, maxRetries = 2,
            delay = 100, multiplier = 2, maxDelay = 1000)
    @Transactional(readOnly = true)
    public AccountUsage usage(String account) {
        return super.usage(account);
    }

    /** Spring Framework's {@code @Retryable} support, for the baseline only. */
    @Configuration(proxyBeanMethods = false)
    @Profile("baseline")
    @EnableResilientMethods
    static class BaselineRetryConfiguration {

    }

}
