package dev.resilientdb.jpa;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

/** Accounts through Spring Data JPA, plus two queries that show which backend serves the transaction. */
public interface AccountRepository extends JpaRepository<Account, String> {

    /** The PostgreSQL backend pid of the connection the current transaction runs on. */
    @Query(value = "SELECT pg_backend_pid()", nativeQuery = true)
    int backendPid();

    /** Keeps the current transaction's connection busy on the server for the given time. */
    @Query(value = "SELECT count(*) FROM pg_sleep(:seconds)", nativeQuery = true)
    long sleep(@Param("seconds") double seconds);

}
