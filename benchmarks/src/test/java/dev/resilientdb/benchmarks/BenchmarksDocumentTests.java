package dev.resilientdb.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each benchmark replaces only its own section of {@code docs/BENCHMARKS.md}, so the two runs can
 * happen at different times without one erasing the other's numbers.
 */
class BenchmarksDocumentTests {

    @TempDir
    Path directory;

    @Test
    void writingOneSectionKeepsTheOther() throws Exception {
        Path document = this.directory.resolve("docs").resolve("BENCHMARKS.md");
        BenchmarksDocument.writeSection(document, "side-by-side", "side one\n");
        BenchmarksDocument.writeSection(document, "transaction-path", "path one\n");
        BenchmarksDocument.writeSection(document, "transaction-path", "path two\n");
        String text = Files.readString(document);
        assertThat(text).startsWith("# Benchmarks").contains("side one").contains("path two").doesNotContain("path one");
        assertThat(text.indexOf("path two")).isLessThan(text.indexOf("side one"));
    }

    @Test
    void tableHasTheSameCellsInMarkdownAndOnTheConsole() {
        Table table = new Table("path", "ops/s").row("`@Transactional`", "1,000");
        assertThat(table.markdown()).isEqualTo("| path | ops/s |\n| --- | --- |\n| `@Transactional` | 1,000 |\n");
        assertThat(table.console()).contains("@Transactional  1,000").doesNotContain("`");
    }

    @Test
    void percentilesAreNearestRank() {
        List<Double> values = List.of(5.0, 1.0, 4.0, 2.0, 3.0);
        assertThat(SideBySideBenchmark.percentile(values, 0.5)).isEqualTo(3.0);
        assertThat(SideBySideBenchmark.percentile(values, 0.99)).isEqualTo(5.0);
        assertThat(SideBySideBenchmark.percentile(values, 1.0)).isEqualTo(5.0);
    }

}
