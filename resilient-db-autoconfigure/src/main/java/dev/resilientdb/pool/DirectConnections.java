package dev.resilientdb.pool;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

import com.zaxxer.hikari.HikariConfig;

/**
 * Opens a connection to the pool's database without going through the pool (same URL, credentials
 * and driver settings), for checks that must not queue behind the pool's callers.
 */
final class DirectConnections {

    private DirectConnections() {
    }

    /**
     * @param config the pool's configuration
     * @param applicationName the {@code application_name} the connection reports
     * @param timeout bound for connecting and for every round trip on the connection
     */
    static Connection open(HikariConfig config, String applicationName, Duration timeout) throws SQLException {
        Properties properties = new Properties();
        properties.putAll(config.getDataSourceProperties());
        if (config.getUsername() != null) {
            properties.setProperty("user", config.getUsername());
        }
        if (config.getPassword() != null) {
            properties.setProperty("password", config.getPassword());
        }
        String seconds = Long.toString(Math.max(1, (timeout.toMillis() + 999) / 1000));
        properties.setProperty("connectTimeout", seconds);
        properties.setProperty("loginTimeout", seconds);
        properties.setProperty("socketTimeout", seconds);
        properties.setProperty("ApplicationName", applicationName);
        if (config.getJdbcUrl() == null) {
            throw new SQLException("The pool has no JDBC URL to connect to outside the pool", "08001");
        }
        Connection connection = DriverManager.getConnection(config.getJdbcUrl(), properties);
        connection.setNetworkTimeout(Runnable::run, (int) Math.max(1, timeout.toMillis()));
        return connection;
    }

}
