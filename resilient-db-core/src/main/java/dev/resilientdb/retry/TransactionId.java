package dev.resilientdb.retry;

import dev.resilientdb.retry.CommitOutcomeResolver.ServerIdentity;

/**
 * A transaction's id as the server gave it before its commit was sent, with what identifies the
 * server that gave it, so that a later answer about the id can be shown to be about this transaction.
 * @param xid the 64-bit transaction id ({@code xid8}: epoch and id, never reused by a running server)
 * @param server the server that gave it, read on the same connection before or when it did
 */
record TransactionId(String xid, ServerIdentity server) {

    /** A transaction the server gave no id: it wrote nothing, so whether it committed makes no difference. */
    static final TransactionId NONE = new TransactionId("", new ServerIdentity(false, null, null, null));

}
