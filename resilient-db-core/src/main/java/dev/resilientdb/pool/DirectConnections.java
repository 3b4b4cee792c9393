package dev.resilientdb.pool;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLClientInfoException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.util.PropertyElf;
import com.zaxxer.hikari.util.UtilityElf;

/**
 * Opens a connection to the pool's database without going through the pool, the way the pool
 * itself reaches the server: with its JDBC URL (same credentials and driver settings), or else with
 * its own {@code DataSource}, or a new instance of its {@code dataSourceClassName}. For checks that
 * must not queue behind the pool's callers.
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
        int seconds = (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
        Connection connection;
        if (config.getJdbcUrl() != null
                && (config.getDataSource() == null || config.getDataSource() instanceof ServerWaitingDataSource)) {
            connection = DriverManager.getConnection(config.getJdbcUrl(), driverProperties(config, applicationName, seconds));
        }
        else {
            connection = connect(config, ownDataSource(config, seconds));
            try {
                connection.setClientInfo("ApplicationName", applicationName);
            }
            catch (SQLClientInfoException ex) {
                // The name only helps people reading pg_stat_activity; the connection is good without it.
            }
        }
        connection.setNetworkTimeout(Runnable::run, (int) Math.max(1, timeout.toMillis()));
        return connection;
    }

    private static Properties driverProperties(HikariConfig config, String applicationName, int seconds) {
        Properties properties = new Properties();
        properties.putAll(config.getDataSourceProperties());
        if (config.getUsername() != null) {
            properties.setProperty("user", config.getUsername());
        }
        if (config.getPassword() != null) {
            properties.setProperty("password", config.getPassword());
        }
        properties.setProperty("connectTimeout", Integer.toString(seconds));
        properties.setProperty("loginTimeout", Integer.toString(seconds));
        properties.setProperty("socketTimeout", Integer.toString(seconds));
        properties.setProperty("ApplicationName", applicationName);
        return properties;
    }

    /**
     * The pool's own {@code DataSource}, used as it is (it belongs to the pool); or a new instance of
     * its {@code dataSourceClassName} with its properties, as HikariCP makes one, bounded by the timeout.
     */
    private static DataSource ownDataSource(HikariConfig config, int seconds) throws SQLException {
        if (config.getDataSource() != null) {
            return config.getDataSource();
        }
        if (config.getDataSourceClassName() != null) {
            DataSource dataSource = UtilityElf.createInstance(config.getDataSourceClassName(), DataSource.class);
            PropertyElf.setTargetFromProperties(dataSource, config.getDataSourceProperties());
            dataSource.setLoginTimeout(seconds);
            return dataSource;
        }
        throw new SQLException("The pool has neither a JDBC URL nor a DataSource to connect with outside the pool", "08001");
    }

    /** As HikariCP connects: with the pool's user name and password when it has them. */
    private static Connection connect(HikariConfig config, DataSource dataSource) throws SQLException {
        return (config.getUsername() != null) ? dataSource.getConnection(config.getUsername(), config.getPassword())
                : dataSource.getConnection();
    }

}
