package dev.resilientdb.architecture;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tests run on the Java the build asked for ({@code resilientdb.tests.java}, set where the build
 * runs them on Java 25), and never below the Java 17 baseline.
 */
class JavaRuntimeTests {

    @Test
    void testsRunOnTheJavaTheBuildAskedFor() {
        int feature = Runtime.version().feature();
        System.out.println("resilient-db tests run on Java " + Runtime.version());
        assertThat(feature).isGreaterThanOrEqualTo(17);
        Integer asked = Integer.getInteger("resilientdb.tests.java");
        if (asked != null) {
            assertThat(feature).isEqualTo(asked);
        }
    }

}
