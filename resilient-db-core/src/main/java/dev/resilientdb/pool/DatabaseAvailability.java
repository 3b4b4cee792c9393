package dev.resilientdb.pool;

/**
 * What the evidence says about a database right now: the availability part of {@link DatabaseState}.
 */
public enum DatabaseAvailability {

    /** The database answers; the normal state, and the state before any evidence. */
    UP,

    /** Connections fail or are refused outright: the server is stopped, crashed, or not on the network (class 08, 57P01, 57P02). */
    UNREACHABLE,

    /**
     * The server answers but will not take a new session now: all connection slots taken (53300), starting
     * up or shutting down (57P03), or PgBouncer backing off its own login to the server ({@code server_login_retry}).
     */
    REFUSING,

    /** The server answers but refuses writes (25006): a standby, or a primary demoted by a failover. */
    READ_ONLY,

    /** The server accepts a connection but does not answer within the probe's timeout: frozen, or overloaded. */
    HUNG

}
