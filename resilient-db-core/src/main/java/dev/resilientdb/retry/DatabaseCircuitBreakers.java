package dev.resilientdb.retry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import javax.sql.DataSource;

import dev.resilientdb.pool.TransactionManagerDataSources;
import org.jspecify.annotations.Nullable;

import org.springframework.transaction.PlatformTransactionManager;

/**
 * One {@link DatabaseCircuitBreaker} per {@link DataSource} (per pool, when told how to find the pool
 * behind a DataSource), so that an outage of one database does not fail calls to another fast. A
 * transaction manager whose DataSource cannot be told shares one breaker. Thread-safe.
 */
public final class DatabaseCircuitBreakers implements AutoCloseable {

    private final Function<DataSource, DatabaseCircuitBreaker> factory;

    private final Map<DataSource, DatabaseCircuitBreaker> breakers = new ConcurrentHashMap<>();

    private final UnaryOperator<DataSource> pool;

    private final DatabaseCircuitBreaker shared;

    /**
     * @param factory makes the breaker of a DataSource the first time a unit of work uses it, and,
     * given {@code null}, the breaker of work whose DataSource cannot be told
     * @param primary the application's DataSource when it has one, whose breaker also serves work
     * whose DataSource cannot be told; {@code null} otherwise
     */
    public DatabaseCircuitBreakers(Function<DataSource, DatabaseCircuitBreaker> factory, @Nullable DataSource primary) {
        this(factory, primary, UnaryOperator.identity());
    }

    /**
     * @param factory makes the breaker of a pool the first time a unit of work uses it, and, given
     * {@code null}, the breaker of work whose DataSource cannot be told
     * @param primary the application's DataSource when it has one (see above)
     * @param pool the pool behind a DataSource, so that DataSources wrapping one pool share its
     * breaker; the DataSource itself when it wraps none
     */
    public DatabaseCircuitBreakers(Function<DataSource, DatabaseCircuitBreaker> factory, @Nullable DataSource primary,
            UnaryOperator<DataSource> pool) {
        this.factory = factory;
        this.pool = pool;
        this.shared = (primary != null) ? forDataSource(primary) : factory.apply(null);
    }

    /** One breaker for every DataSource. */
    public static DatabaseCircuitBreakers single(DatabaseCircuitBreaker breaker) {
        return new DatabaseCircuitBreakers(dataSource -> breaker, null);
    }

    /** The breaker of a DataSource. */
    public DatabaseCircuitBreaker forDataSource(DataSource dataSource) {
        return this.breakers.computeIfAbsent(this.pool.apply(dataSource), this.factory);
    }

    /** The breaker of the DataSource a transaction manager works on. */
    public DatabaseCircuitBreaker forTransactionManager(PlatformTransactionManager transactionManager) {
        DataSource dataSource = TransactionManagerDataSources.of(transactionManager);
        return (dataSource != null) ? forDataSource(dataSource) : this.shared;
    }

    /** The breaker of the application's DataSource, which also serves work whose DataSource cannot be told. */
    public DatabaseCircuitBreaker shared() {
        return this.shared;
    }

    @Override
    public void close() {
        this.breakers.values().forEach(DatabaseCircuitBreaker::close);
        this.shared.close();
    }

}
