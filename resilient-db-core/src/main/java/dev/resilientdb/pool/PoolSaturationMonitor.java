package dev.resilientdb.pool;

import org.jspecify.annotations.Nullable;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.SmartLifecycle;

/**
 * Warns when a pool's utilisation crosses a threshold: one WARN line when an episode starts, at
 * most one more per interval while it lasts, and one INFO line when it ends, for each pool on its
 * own. It samples the pools on its own thread, so a busy request path logs nothing.
 */
public class PoolSaturationMonitor implements SmartLifecycle {

    private static final Log logger = LogFactory.getLog(PoolSaturationMonitor.class);

    private final List<Episodes> pools;

    private final double threshold;

    private final Duration warnInterval;

    private final Duration sampleInterval;

    private @Nullable ScheduledExecutorService scheduler;

    /**
     * @param dataSource the pool to watch
     * @param threshold utilisation (0 to 1) at which an episode starts
     * @param warnInterval least time between two warnings within one episode
     * @param sampleInterval how often the pool is read
     */
    public PoolSaturationMonitor(HikariDataSource dataSource, double threshold, Duration warnInterval,
            Duration sampleInterval) {
        this(List.of(dataSource), threshold, warnInterval, sampleInterval);
    }

    /**
     * @param dataSources the pools to watch, each on its own
     * @param threshold utilisation (0 to 1) at which an episode starts
     * @param warnInterval least time between two warnings within one episode
     * @param sampleInterval how often the pools are read
     */
    public PoolSaturationMonitor(List<HikariDataSource> dataSources, double threshold, Duration warnInterval,
            Duration sampleInterval) {
        this.pools = dataSources.stream().map(Episodes::new).toList();
        this.threshold = threshold;
        this.warnInterval = warnInterval;
        this.sampleInterval = sampleInterval;
    }

    @Override
    public synchronized void start() {
        this.scheduler = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("resilient-db-pool-monitor"));
        long period = this.sampleInterval.toMillis();
        this.scheduler.scheduleWithFixedDelay(this::sample, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void stop() {
        if (this.scheduler != null) {
            this.scheduler.shutdownNow();
            this.scheduler = null;
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return this.scheduler != null;
    }

    void sample() {
        for (Episodes pool : this.pools) {
            pool.sample(this.threshold, this.warnInterval);
        }
    }

    /** The saturation episodes of one pool. Used on the monitor's thread only. */
    private static final class Episodes {

        private final HikariDataSource dataSource;

        private long episodeStart;

        private long lastWarning;

        private boolean saturated;

        Episodes(HikariDataSource dataSource) {
            this.dataSource = dataSource;
        }

        void sample(double threshold, Duration warnInterval) {
            PoolStatistics pool = PoolStatistics.of(this.dataSource);
            long now = System.nanoTime();
            if (pool.utilization() >= threshold) {
                if (!this.saturated) {
                    this.saturated = true;
                    this.episodeStart = now;
                    this.lastWarning = now;
                    logger.warn("resilient-db: pool '" + pool.name() + "' is " + describe(pool) + " (warning threshold "
                            + percent(threshold) + ")");
                }
                else if (now - this.lastWarning >= warnInterval.toNanos()) {
                    this.lastWarning = now;
                    logger.warn("resilient-db: pool '" + pool.name() + "' is still " + describe(pool) + ", for "
                            + Duration.ofNanos(now - this.episodeStart).toSeconds() + "s");
                }
            }
            else if (this.saturated) {
                this.saturated = false;
                logger.info("resilient-db: pool '" + pool.name() + "' is back below its warning threshold: "
                        + describe(pool) + " after " + Duration.ofNanos(now - this.episodeStart).toMillis() + "ms");
            }
        }

    }

    private static String describe(PoolStatistics pool) {
        return percent(pool.utilization()) + " utilised (" + pool.active() + " of " + pool.max() + " active, "
                + pool.waiting() + " waiting)";
    }

    private static String percent(double fraction) {
        return Math.round(fraction * 100) + "%";
    }

}
