package dev.resilientdb.benchmarks;

import java.nio.file.Path;

final class SideBySideBenchmark {

    static void run(Path docs, Path sampleJar) throws Exception {
        throw new UnsupportedOperationException("not yet");
    }

}
