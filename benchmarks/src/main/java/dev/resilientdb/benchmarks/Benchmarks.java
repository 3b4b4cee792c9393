package dev.resilientdb.benchmarks;

import java.nio.file.Path;

/**
 * Entry point of the benchmarks: {@code transaction-path} (JMH, the cost of the retrying path on
 * success), {@code side-by-side} (the sample with and without the starter under the same faults) or
 * {@code traffic-outage-matrix} (the same two at 1, 4, 16 and 64 callers under five outages). Each
 * prints its tables and writes them (with charts, where it draws any) into {@code docs/BENCHMARKS.md}.
 */
public final class Benchmarks {

    private Benchmarks() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: Benchmarks transaction-path|side-by-side|traffic-outage-matrix [--docs=DIR] [--sample-jar=FILE]");
            System.exit(2);
        }
        Path docs = Path.of(option(args, "--docs", "docs")).toAbsolutePath().normalize();
        java.nio.file.Files.createDirectories(docs);
        switch (args[0]) {
            case "transaction-path" -> TransactionPathRun.run(docs);
            case "side-by-side" -> SideBySideBenchmark.run(docs,
                    Path.of(option(args, "--sample-jar", "sample-app/target/sample-app-0.1.0-SNAPSHOT.jar")));
            case TrafficOutageMatrixBenchmark.SECTION -> TrafficOutageMatrixBenchmark.run(docs,
                    Path.of(option(args, "--sample-jar", "sample-app/target/sample-app-0.1.0-SNAPSHOT.jar")));
            default -> {
                System.err.println("unknown benchmark '" + args[0]
                        + "': transaction-path, side-by-side or traffic-outage-matrix");
                System.exit(2);
            }
        }
    }

    private static String option(String[] args, String name, String defaultValue) {
        for (String arg : args) {
            if (arg.startsWith(name + "=")) {
                return arg.substring(name.length() + 1);
            }
        }
        return defaultValue;
    }

}
