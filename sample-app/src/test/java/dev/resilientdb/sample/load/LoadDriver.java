package dev.resilientdb.sample.load;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drives the sample's API with many concurrent clients, then checks that the usage counters equal
 * the number of jobs the server said it created (201 responses).
 * <p>
 * Only the JDK: run it as a single-file program ({@code java LoadDriver.java --base-url
 * http://localhost:8080 --clients 1000 --requests 10000}, see {@code scripts/load}) or call
 * {@link #run(Options, PrintStream)} from a test, which gets every request's outcome back.
 * <p>
 * Every request carries its own {@code Idempotency-Key}; the jobs go to {@code --accounts} accounts
 * named after this run, so the check sees only this run's jobs even on a database that has others.
 * Exit status: 0 when the usage matches and 5xx responses and connection errors stay within
 * {@code --max-5xx} and {@code --max-errors}, 1 otherwise, 2 for bad arguments.
 */
public final class LoadDriver {

    private static final Pattern JOB_ID = Pattern.compile("\"id\"\\s*:\\s*\"([0-9a-fA-F-]{36})\"");

    private static final Pattern JOBS = Pattern.compile("\"jobs\"\\s*:\\s*(\\d+)");

    private LoadDriver() {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        }
        catch (IllegalArgumentException ex) {
            System.err.println("load: " + ex.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        Result result = run(options, System.out);
        System.exit(result.passed() ? 0 : 1);
    }

    /**
     * Runs the load described by the options, prints the numbers to {@code out} and returns every
     * request's outcome.
     */
    public static Result run(Options options, PrintStream out) {
        return run(options, out, new AtomicBoolean());
    }

    /**
     * Runs the load as {@link #run(Options, PrintStream)} does, ending it early once {@code stop} is
     * set: no client sends another request after that.
     */
    public static Result run(Options options, PrintStream out, AtomicBoolean stop) {
        return run(options, out, stop, (outcome) -> {
        });
    }

    /**
     * Runs the load as {@link #run(Options, PrintStream, AtomicBoolean)} does, handing every request's
     * outcome to {@code onOutcome} as it arrives (on the client's thread), for a caller that watches
     * the load while it runs.
     */
    public static Result run(Options options, PrintStream out, AtomicBoolean stop, Consumer<Outcome> onOutcome) {
        HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
        String runId = UUID.randomUUID().toString().substring(0, 8);
        List<String> accounts = new ArrayList<>();
        for (int i = 0; i < options.accounts(); i++) {
            accounts.add("load-" + runId + "-" + i);
        }
        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        AtomicLong issued = new AtomicLong();
        CountDownLatch startGate = new CountDownLatch(1);
        long deadline = (options.duration() != null) ? System.nanoTime() + options.duration().toNanos() : Long.MAX_VALUE;
        out.printf(Locale.ROOT, "load: %d clients against %s, %s, %d accounts (run %s)%n", options.clients(),
                options.baseUrl(), (options.duration() != null) ? "for " + options.duration().toMillis() / 1000.0 + " s"
                        : options.requests() + " requests", options.accounts(), runId);
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < options.clients(); c++) {
            Thread client = new Thread(() -> {
                awaitQuietly(startGate);
                while (!stop.get() && System.nanoTime() < deadline) {
                    long number = issued.getAndIncrement();
                    if (number >= options.requests()) {
                        return;
                    }
                    Outcome outcome = submit(http, options, accounts.get((int) (number % accounts.size())));
                    outcomes.add(outcome);
                    onOutcome.accept(outcome);
                    if (outcome.status() < 0) {
                        sleepQuietly(Duration.ofMillis(100));
                    }
                }
            }, "load-client-" + c);
            client.setDaemon(true);
            clients.add(client);
            client.start();
        }
        long started = System.nanoTime();
        startGate.countDown();
        for (Thread client : clients) {
            try {
                client.join();
            }
            catch (InterruptedException ex) {
                stop.set(true);
                Thread.currentThread().interrupt();
            }
        }
        long elapsed = System.nanoTime() - started;
        List<Outcome> all = List.copyOf(outcomes);
        Map<String, Long> usage = options.checkUsage() ? readUsage(http, options, accounts) : Map.of();
        Result result = new Result(options, all, usage, elapsed);
        result.print(out);
        return result;
    }

    private static Outcome submit(HttpClient http, Options options, String account) {
        String key = UUID.randomUUID().toString();
        HttpRequest request = HttpRequest.newBuilder(URI.create(options.baseUrl() + "/api/jobs"))
            .timeout(options.requestTimeout())
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"load\"}"))
            .build();
        long start = System.nanoTime();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            long end = System.nanoTime();
            String jobId = null;
            if (response.statusCode() == 201) {
                Matcher id = JOB_ID.matcher(response.body());
                jobId = id.find() ? id.group(1) : null;
            }
            return new Outcome(key, account, start, end, response.statusCode(), jobId, null,
                    response.headers().firstValue("Retry-After").orElse(null));
        }
        catch (IOException ex) {
            return new Outcome(key, account, start, System.nanoTime(), -1, null, describe(ex), null);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return new Outcome(key, account, start, System.nanoTime(), -1, null, "interrupted", null);
        }
    }

    private static Map<String, Long> readUsage(HttpClient http, Options options, List<String> accounts) {
        Map<String, Long> usage = new TreeMap<>();
        for (String account : accounts) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(options.baseUrl() + "/api/accounts/" + account + "/usage"))
                .timeout(options.requestTimeout())
                .build();
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                Matcher jobs = JOBS.matcher(response.body());
                usage.put(account, (response.statusCode() == 200 && jobs.find()) ? Long.parseLong(jobs.group(1)) : -1L);
            }
            catch (IOException ex) {
                usage.put(account, -1L);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                usage.put(account, -1L);
            }
        }
        return usage;
    }

    private static String describe(Throwable ex) {
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String description = ex.getClass().getSimpleName();
        if (root != ex) {
            description += " <- " + root.getClass().getSimpleName();
        }
        return description + ((root.getMessage() != null) ? ": " + root.getMessage() : "");
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepQuietly(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * What to run.
     *
     * @param baseUrl the sample's base URL, without a trailing slash
     * @param clients concurrent clients, each sending one request after the other
     * @param requests total requests to send (unlimited when a duration is given instead)
     * @param duration how long to send, or {@code null} to send {@code requests} requests
     * @param accounts how many accounts the jobs are spread over
     * @param max5xx most 5xx responses that still pass
     * @param maxErrors most connection errors (no HTTP response at all) that still pass
     * @param requestTimeout longest wait for one response
     * @param checkUsage whether to read the usage counters afterwards and compare them
     */
    public record Options(String baseUrl, int clients, long requests, Duration duration, int accounts, long max5xx,
            long maxErrors, Duration requestTimeout, boolean checkUsage) {

        static final String USAGE = "usage: java LoadDriver.java [--base-url http://localhost:8080] [--clients 100]"
                + " (--requests 1000 | --duration 30s) [--accounts 10] [--max-5xx 0] [--max-errors 0]"
                + " [--request-timeout 60s] [--no-usage-check]";

        /** Options with the given base URL, clients and request count, and defaults for the rest. */
        public static Options of(String baseUrl, int clients, long requests) {
            return new Options(stripSlash(baseUrl), clients, requests, null, 10, 0, 0, Duration.ofSeconds(60), true);
        }

        /** The same options, sending for the given time instead of a request count. */
        public Options withDuration(Duration duration) {
            return new Options(this.baseUrl, this.clients, Long.MAX_VALUE, duration, this.accounts, this.max5xx,
                    this.maxErrors, this.requestTimeout, this.checkUsage);
        }

        /** The same options, without reading the usage counters afterwards. */
        public Options withoutUsageCheck() {
            return new Options(this.baseUrl, this.clients, this.requests, this.duration, this.accounts, this.max5xx,
                    this.maxErrors, this.requestTimeout, false);
        }

        /** Parses command-line arguments. */
        public static Options parse(String[] args) {
            Options options = of("http://localhost:8080", 100, 1000);
            for (int i = 0; i < args.length; i++) {
                String name = args[i];
                if ("--no-usage-check".equals(name)) {
                    options = options.withoutUsageCheck();
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                String value = args[++i];
                try {
                    options = switch (name) {
                        case "--base-url" -> new Options(stripSlash(value), options.clients, options.requests,
                                options.duration, options.accounts, options.max5xx, options.maxErrors,
                                options.requestTimeout, options.checkUsage);
                        case "--clients" -> new Options(options.baseUrl, positive(name, value), options.requests,
                                options.duration, options.accounts, options.max5xx, options.maxErrors,
                                options.requestTimeout, options.checkUsage);
                        case "--requests" -> new Options(options.baseUrl, options.clients, positive(name, value), null,
                                options.accounts, options.max5xx, options.maxErrors, options.requestTimeout,
                                options.checkUsage);
                        case "--duration" -> options.withDuration(duration(value));
                        case "--accounts" -> new Options(options.baseUrl, options.clients, options.requests,
                                options.duration, positive(name, value), options.max5xx, options.maxErrors,
                                options.requestTimeout, options.checkUsage);
                        case "--max-5xx" -> new Options(options.baseUrl, options.clients, options.requests,
                                options.duration, options.accounts, Long.parseLong(value), options.maxErrors,
                                options.requestTimeout, options.checkUsage);
                        case "--max-errors" -> new Options(options.baseUrl, options.clients, options.requests,
                                options.duration, options.accounts, options.max5xx, Long.parseLong(value),
                                options.requestTimeout, options.checkUsage);
                        case "--request-timeout" -> new Options(options.baseUrl, options.clients, options.requests,
                                options.duration, options.accounts, options.max5xx, options.maxErrors, duration(value),
                                options.checkUsage);
                        default -> throw new IllegalArgumentException("unknown option " + name);
                    };
                }
                catch (NumberFormatException ex) {
                    throw new IllegalArgumentException(name + " needs a number, got '" + value + "'");
                }
            }
            return options;
        }

        private static int positive(String name, String value) {
            int number = Integer.parseInt(value);
            if (number < 1) {
                throw new IllegalArgumentException(name + " must be at least 1");
            }
            return number;
        }

        private static Duration duration(String value) {
            Matcher matcher = Pattern.compile("(\\d+)(ms|s|m)?").matcher(value.trim());
            if (!matcher.matches()) {
                throw new IllegalArgumentException("durations look like 500ms, 30s or 2m, got '" + value + "'");
            }
            long amount = Long.parseLong(matcher.group(1));
            String unit = (matcher.group(2) != null) ? matcher.group(2) : "s";
            return switch (unit) {
                case "ms" -> Duration.ofMillis(amount);
                case "m" -> Duration.ofMinutes(amount);
                default -> Duration.ofSeconds(amount);
            };
        }

        private static String stripSlash(String url) {
            return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        }

    }

    /**
     * One request as the client saw it.
     *
     * @param idempotencyKey the key it was sent with
     * @param account the account it submitted a job for
     * @param startNanos {@link System#nanoTime()} just before sending
     * @param endNanos {@link System#nanoTime()} when the response or the error arrived
     * @param status the HTTP status, or -1 when no response arrived (connection error)
     * @param jobId the created job's id for a 201, else {@code null}
     * @param error what went wrong when no response arrived, else {@code null}
     * @param retryAfter the response's {@code Retry-After} header, else {@code null}
     */
    public record Outcome(String idempotencyKey, String account, long startNanos, long endNanos, int status,
            String jobId, String error, String retryAfter) {

        /** Whether the server created (or returned) a job. */
        public boolean created() {
            return this.status == 201;
        }

        /** Whether no HTTP response arrived at all. */
        public boolean connectionError() {
            return this.status < 0;
        }

        public long latencyNanos() {
            return this.endNanos - this.startNanos;
        }

    }

    /**
     * The outcome of a run: every request, the usage counters read afterwards, and the checks.
     *
     * @param options what was run
     * @param outcomes every request, in no particular order
     * @param usage each account's usage counter read after the run (-1 when it could not be read);
     * empty when the check was off
     * @param elapsedNanos how long the clients ran
     */
    public record Result(Options options, List<Outcome> outcomes, Map<String, Long> usage, long elapsedNanos) {

        public long created() {
            return this.outcomes.stream().filter(Outcome::created).count();
        }

        public long serverErrors() {
            return this.outcomes.stream().filter((outcome) -> outcome.status() >= 500).count();
        }

        public long connectionErrors() {
            return this.outcomes.stream().filter(Outcome::connectionError).count();
        }

        /** Sum of the usage counters of this run's accounts. */
        public long usageTotal() {
            return this.usage.values().stream().mapToLong(Long::longValue).sum();
        }

        public boolean usageMatches() {
            return !this.options.checkUsage()
                    || (this.usage.values().stream().allMatch((jobs) -> jobs >= 0) && usageTotal() == created());
        }

        /** Number of responses per HTTP status; -1 counts connection errors. */
        public Map<Integer, Long> statusCounts() {
            Map<Integer, Long> counts = new TreeMap<>();
            this.outcomes.forEach((outcome) -> counts.merge(outcome.status(), 1L, Long::sum));
            return counts;
        }

        /** Latency in milliseconds at the given percentile (0-100) of requests that got a response. */
        public double latencyMillis(double percentile) {
            long[] latencies = this.outcomes.stream()
                .filter((outcome) -> !outcome.connectionError())
                .mapToLong(Outcome::latencyNanos)
                .sorted()
                .toArray();
            if (latencies.length == 0) {
                return 0;
            }
            int index = (int) Math.ceil(percentile / 100.0 * latencies.length) - 1;
            return latencies[Math.max(0, Math.min(latencies.length - 1, index))] / 1_000_000.0;
        }

        public double throughput() {
            return this.outcomes.size() / (this.elapsedNanos / 1_000_000_000.0);
        }

        public boolean passed() {
            return usageMatches() && serverErrors() <= this.options.max5xx()
                    && connectionErrors() <= this.options.maxErrors();
        }

        void print(PrintStream out) {
            out.printf(Locale.ROOT, "requests: %d in %.1f s, throughput %.1f requests/s%n", this.outcomes.size(),
                    this.elapsedNanos / 1_000_000_000.0, throughput());
            out.printf(Locale.ROOT, "latency ms: p50=%.1f p90=%.1f p99=%.1f max=%.1f%n", latencyMillis(50),
                    latencyMillis(90), latencyMillis(99), latencyMillis(100));
            StringBuilder statuses = new StringBuilder("status codes:");
            statusCounts().forEach((status, count) -> statuses.append(' ')
                .append((status < 0) ? "connection-error" : String.valueOf(status)).append('=').append(count));
            out.println(statuses);
            this.outcomes.stream().filter(Outcome::connectionError).map(Outcome::error).distinct().limit(5)
                .forEach((error) -> out.println("  connection error: " + error));
            out.printf(Locale.ROOT, "5xx: %d (allowed %d), connection errors: %d (allowed %d)%n", serverErrors(),
                    this.options.max5xx(), connectionErrors(), this.options.maxErrors());
            if (this.options.checkUsage()) {
                out.printf(Locale.ROOT, "usage: sum over %d accounts = %d, 201 responses = %d: %s%n", this.usage.size(),
                        usageTotal(), created(), usageMatches() ? "MATCH" : "MISMATCH");
            }
            out.println("RESULT: " + (passed() ? "PASSED" : "FAILED"));
        }

    }

}
