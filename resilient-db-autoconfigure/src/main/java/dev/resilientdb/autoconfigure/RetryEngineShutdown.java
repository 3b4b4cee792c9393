package dev.resilientdb.autoconfigure;

import dev.resilientdb.retry.RetryEngine;

import org.springframework.context.SmartLifecycle;

/**
 * Closes the retry engine when the application stops, so that no unit of work sleeps through
 * shutdown waiting to retry. Its phase is below the web server's graceful shutdown: requests still
 * in flight during the grace period keep retrying; whatever is still waiting after it gives up.
 */
class RetryEngineShutdown implements SmartLifecycle {

    /** Below Spring Boot's web server phases (graceful shutdown at DEFAULT_PHASE - 1024, stop at - 2048). */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private final RetryEngine engine;

    private volatile boolean running;

    RetryEngineShutdown(RetryEngine engine) {
        this.engine = engine;
    }

    @Override
    public void start() {
        this.running = true;
    }

    @Override
    public void stop() {
        this.running = false;
        this.engine.close();
    }

    @Override
    public boolean isRunning() {
        return this.running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /**
     * Not stopped when Spring Framework 7 pauses the context (a cached test context, for example):
     * closing the engine is for good. No {@code @Override}: Spring Framework 6.2 has no such method.
     */
    public boolean isPauseable() {
        return false;
    }

}
