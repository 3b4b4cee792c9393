package dev.resilientdb.jpa;

import org.springframework.data.jpa.repository.JpaRepository;

/** Statements through Spring Data JPA. */
public interface MonthlyStatementRepository extends JpaRepository<MonthlyStatement, String> {

}
