package dev.resilientdb.retry;

/**
 * A transaction's id as the server gave it before its commit was sent, with what identifies the
 * server that gave it, so that a later answer about the id can be shown to be about this transaction.
 * @param xid the 64-bit transaction id ({@code xid8}: epoch and id, never reused by a running server)
 * @param systemIdentifier the database cluster's system identifier (shared by its standbys)
 * @param statsReset when the server's shared statistics were last reset, which PostgreSQL does on every
 * start after a crash: unchanged, no crash recovery (which could hand the id out again) has happened since
 * @param timeline the server's WAL timeline (a promoted standby starts a new one)
 */
record TransactionId(String xid, String systemIdentifier, String statsReset, String timeline) {

    /** A transaction the server gave no id: it wrote nothing, so whether it committed makes no difference. */
    static final TransactionId NONE = new TransactionId("", "", "", "");


}
