package dev.resilientdb.autoconfigure;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.jdbc.DataSourceUnwrapper;

/**
 * Finds the HikariCP pool behind the application's {@link DataSource}, through proxies and wrappers.
 */
final class HikariDataSources {

    private HikariDataSources() {
    }

    /** The pool, or {@code null} when the DataSource is not HikariCP. */
    static @Nullable HikariDataSource unwrap(DataSource dataSource) {
        return DataSourceUnwrapper.unwrap(dataSource, HikariDataSource.class);
    }

}
