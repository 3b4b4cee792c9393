package dev.resilientdb.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.util.ListStatistics;

/**
 * Runs {@link TransactionPathBenchmark} with JMH, prints throughput and the ratio of each path to
 * plain {@code @Transactional}, and writes the table and a bar chart into {@code docs/}.
 */
final class TransactionPathRun {

    static final String SECTION = "transaction-path";

    static final String CHART = "benchmarks-transaction-path.png";

    /** Rounds of all paths; each path's numbers are the measured iterations of all rounds together. */
    static final int ROUNDS = 3;

    /** Benchmark method name to the label in the table, in the table's order. */
    private static final Map<String, String> PATHS = new LinkedHashMap<>();

    static {
        PATHS.put("retryableTransactional", "`@RetryableTransactional`");
        PATHS.put("retryingTemplate", "retrying `TransactionTemplate` bean");
        PATHS.put("retryableTransactionalResolving", "`@RetryableTransactional`, `resolve-commit-outcome=true`");
        PATHS.put("retryingTemplateResolving", "retrying `TransactionTemplate` bean, `resolve-commit-outcome=true`");
        PATHS.put("plainTransactional", "plain `@Transactional`");
        PATHS.put("rawJdbc", "raw JDBC on HikariCP (autocommit)");
    }

    private static final Map<String, String> SHORT_LABELS = Map.of("retryableTransactional", "@RetryableTransactional",
            "retryingTemplate", "retrying template", "retryableTransactionalResolving", "@RetryableTransactional, resolving",
            "retryingTemplateResolving", "template, resolving", "plainTransactional", "@Transactional", "rawJdbc",
            "raw JDBC");

    private TransactionPathRun() {
    }

    static void run(Path docs) throws Exception {
        String loadBefore = MachineInfo.loadAverage();
        long started = System.nanoTime();
        // Rounds, each running every path in its own fork, in a rotated order: the load of a shared
        // machine drifts, and JMH's own order (by name) would hand that drift to one path.
        List<String> methods = new ArrayList<>(PATHS.keySet());
        Map<String, ListStatistics> byMethod = new LinkedHashMap<>();
        methods.forEach((method) -> byMethod.put(method, new ListStatistics()));
        for (int round = 0; round < ROUNDS; round++) {
            for (int i = 0; i < methods.size(); i++) {
                String method = methods.get((i + round) % methods.size());
                Options options = new OptionsBuilder()
                    .include(TransactionPathBenchmark.class.getName() + "." + method + "$")
                    .build();
                for (RunResult result : new Runner(options).run()) {
                    for (BenchmarkResult benchmark : result.getBenchmarkResults()) {
                        for (IterationResult iteration : benchmark.getIterationResults()) {
                            byMethod.get(method).addValue(iteration.getPrimaryResult().getScore());
                        }
                    }
                }
            }
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        double baseline = byMethod.get("plainTransactional").getMean();
        Table table = new Table("path", "ops/s (2 threads, mean)", "± 99.9% CI", "ratio to @Transactional");
        List<String> categories = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        List<Double> errors = new ArrayList<>();
        for (Map.Entry<String, String> path : PATHS.entrySet()) {
            ListStatistics result = byMethod.get(path.getKey());
            double error = result.getMeanErrorAt(0.999);
            table.row(path.getValue(), String.format("%,.0f", result.getMean()), String.format("%,.0f", error),
                    String.format("%.2f", result.getMean() / baseline));
            categories.add(SHORT_LABELS.get(path.getKey()));
            scores.add(result.getMean());
            errors.add(Double.isNaN(error) ? 0 : error);
        }
        String postgresVersion = java.nio.file.Files.readString(TransactionPathBenchmark.SERVER_VERSION_FILE).trim();
        List<String> machine = MachineInfo.describe(postgresVersion, loadBefore);

        System.out.println();
        System.out.println("Transaction path, success only (one-row UPDATE, real PostgreSQL), " + seconds + " s:");
        System.out.print(table.console());
        machine.forEach(System.out::println);

        Charts.bars(docs.resolve(CHART), "One-row UPDATE on PostgreSQL, no failures (higher is better)",
                "operations per second", "#,##0", categories, List.of(new Charts.Series("ops/s", scores, errors)));
        StringBuilder markdown = new StringBuilder();
        markdown.append("## Cost of the retrying path when nothing fails (JMH)\n\n");
        markdown.append("`UPDATE counters SET n = n + 1 WHERE id = ?` on a real PostgreSQL, through each path, from one "
                + "Spring Boot application context (one HikariCP pool of 10 with the starter's settings; the paths with "
                + "`resilient.db.retry.resolve-commit-outcome=true` from a second one, on its own pool of 10, beside it). "
                + "JMH throughput mode, 2 threads, each thread on its own row; " + ROUNDS + " rounds, each running "
                + "every path in its own fork (2 warm-up and 3 measured iterations of 3 s) in a rotated order, so "
                + "that a drifting load on the shared machine is spread over all paths; a path's numbers are its "
                + (ROUNDS * 3) + " measured iterations together (mean, and JMH's 99.9% confidence interval). The retrying paths include the circuit breaker and the retry budget, as in "
                + "production. Raw JDBC runs the statement in autocommit: one round trip instead of the "
                + "transaction's `BEGIN`/`UPDATE`/`COMMIT` (pgjdbc sends `BEGIN` with the first statement). "
                + "With `resolve-commit-outcome=true`, each writable transaction asks the server for its id before "
                + "its commit: one more round trip. Both contexts have an `ObservationRegistry` with Micrometer's "
                + "meter handler, as with Spring Boot's Actuator; a unit of work is observed only when it retries, "
                + "so none of these is.\n\n");
        markdown.append(table.markdown()).append('\n');
        markdown.append("![throughput of each path](").append(CHART).append(")\n\n");
        markdown.append("Run in ").append(seconds).append(" s with:\n\n");
        markdown.append("```\nmvn -B -q -pl benchmarks -am verify -DskipTests -Pbenchmark -Dbenchmark=transaction-path\n```\n\n");
        machine.forEach((line) -> markdown.append(line).append('\n'));
        BenchmarksDocument.writeSection(docs.resolve("BENCHMARKS.md"), SECTION, markdown.toString());
        System.out.println("Wrote " + docs.resolve("BENCHMARKS.md") + " and " + docs.resolve(CHART));
    }

}
