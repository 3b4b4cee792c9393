package dev.resilientdb.autoconfigure;

/**
 * A pool setting that cannot work behind the connection pooler named in
 * {@code resilient.db.driver.pooler}; {@link IncompatibleWithPoolerFailureAnalyzer} reports it at start-up.
 */
final class IncompatibleWithPoolerException extends IllegalStateException {

    private final String action;

    IncompatibleWithPoolerException(String description, String action) {
        super(description);
        this.action = action;
    }

    String getAction() {
        return this.action;
    }

}
