package dev.resilientdb.pool;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.util.ClassUtils;

/**
 * Finds the {@link DataSource} a transaction manager works on: JDBC's and JPA's transaction
 * managers, and any {@link ResourceTransactionManager} whose resource is a DataSource.
 */
public final class TransactionManagerDataSources {

    private static final boolean JPA_PRESENT = ClassUtils.isPresent("org.springframework.orm.jpa.JpaTransactionManager",
            TransactionManagerDataSources.class.getClassLoader());

    private TransactionManagerDataSources() {
    }

    /** The DataSource of the transaction manager, or {@code null} when it cannot be told (JTA, for example). */
    @Nullable
    public static DataSource of(PlatformTransactionManager transactionManager) {
        if (transactionManager instanceof DataSourceTransactionManager jdbc) {
            return jdbc.getDataSource();
        }
        if (JPA_PRESENT && Jpa.isJpa(transactionManager)) {
            return Jpa.dataSourceOf(transactionManager);
        }
        if (transactionManager instanceof ResourceTransactionManager resources
                && resources.getResourceFactory() instanceof DataSource dataSource) {
            return dataSource;
        }
        return null;
    }

    private static final class Jpa {

        static boolean isJpa(PlatformTransactionManager transactionManager) {
            return transactionManager instanceof JpaTransactionManager;
        }

        static DataSource dataSourceOf(PlatformTransactionManager transactionManager) {
            return ((JpaTransactionManager) transactionManager).getDataSource();
        }

    }

}
