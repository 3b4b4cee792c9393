package dev.resilientdb.pool;

/**
 * The connection pooler between a pool and PostgreSQL, as far as checks outside the pool's callers
 * need to know it: whether a connection of their own gets a server connection at all.
 */
public enum PoolerMode {

    /** Direct connections to PostgreSQL: one more connection gets its own server session. */
    NONE,

    /**
     * PgBouncer with {@code pool_mode = session}: each client connection holds a server connection for
     * its whole life, so with the pool as large as {@code default_pool_size} no other connection gets one.
     */
    PGBOUNCER_SESSION,

    /**
     * PgBouncer with {@code pool_mode = transaction}: a client connection holds a server connection only
     * for a transaction (or a statement in autocommit), so one more connection gets one between the
     * pool's transactions.
     */
    PGBOUNCER_TRANSACTION

}
