package dev.resilientdb.sample.boot3;

import java.util.Map;

import dev.resilientdb.retry.RetryableTransactional;

import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * Records a visit of a page: one row in {@code visits} and one more in the page's count, in one
 * transaction that the starter runs again on a new connection when it fails transiently (a killed
 * session, a restart), so that a visit is stored once or not at all.
 */
@RestController
public class VisitController {

    private final JdbcClient jdbc;

    public VisitController(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Stores a visit of {@code page} and answers the page's visits so far. */
    @PostMapping("/api/pages/{page}/visits")
    @ResponseStatus(HttpStatus.CREATED)
    @RetryableTransactional
    public Map<String, Object> visit(@PathVariable String page) {
        this.jdbc.sql("INSERT INTO visits (page) VALUES (?)").param(page).update();
        long views = this.jdbc.sql("""
                INSERT INTO page_views (page, views) VALUES (?, 1)
                ON CONFLICT (page) DO UPDATE SET views = page_views.views + 1
                RETURNING views""").param(page).query(Long.class).single();
        return Map.of("page", page, "views", views);
    }

}
