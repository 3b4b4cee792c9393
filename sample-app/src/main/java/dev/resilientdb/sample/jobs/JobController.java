package dev.resilientdb.sample.jobs;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * The job-submission API: submit a job, read it back, read an account's usage.
 */
@RestController
@RequestMapping(path = "/api", produces = MediaType.APPLICATION_JSON_VALUE)
public class JobController {

    /** Longest account and job type accepted, in characters. */
    static final int MAX_NAME_LENGTH = 64;

    /** Longest {@code Idempotency-Key} accepted, in characters. */
    static final int MAX_IDEMPOTENCY_KEY_LENGTH = 128;

    /** Response header set when the answer is the job stored by an earlier request with the same key. */
    static final String REPLAYED_HEADER = "Idempotent-Replayed";

    private static final Pattern CANONICAL_UUID = Pattern
        .compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private final JobService jobs;

    public JobController(JobService jobs) {
        this.jobs = jobs;
    }

    /**
     * Stores a job and counts it against its account. Without an {@code Idempotency-Key} the server
     * makes one up, so a request is counted once however often the database makes it retry; with
     * one, sending the request again answers with the first job and counts nothing.
     */
    @PostMapping(path = "/jobs", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<Job> submit(@RequestBody SubmitJobRequest request,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        List<String> errors = new ArrayList<>();
        checkName("account", request.account(), errors);
        checkName("type", request.type(), errors);
        if (idempotencyKey != null) {
            checkText("Idempotency-Key header", idempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH, errors);
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        String key = (idempotencyKey != null) ? idempotencyKey : UUID.randomUUID().toString();
        JobSubmission submission = this.jobs.submit(request.account(), request.type(), key);
        Job job = submission.job();
        return ResponseEntity.created(URI.create("/api/jobs/" + job.id()))
            .header(REPLAYED_HEADER, String.valueOf(submission.replayed()))
            .body(job);
    }

    /**
     * The job with the given id. An id that is not a UUID answers 404 like an unknown one: no job can
     * have it, and a client has nothing to correct but the URL.
     */
    @GetMapping("/jobs/{id}")
    public Job job(@PathVariable String id) {
        if (!CANONICAL_UUID.matcher(id).matches()) {
            throw new ResponseStatusException(HttpStatus.NOT_FOUND, "No job with id '" + abbreviate(id) + "'");
        }
        return this.jobs.find(UUID.fromString(id))
            .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "No job with id '" + id + "'"));
    }

    /** How many jobs the account has submitted; 0 for an account that has submitted none. */
    @GetMapping("/accounts/{account}/usage")
    public AccountUsage usage(@PathVariable String account) {
        List<String> errors = new ArrayList<>();
        checkName("account", account, errors);
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        return this.jobs.usage(account);
    }

    private static void checkName(String field, String value, List<String> errors) {
        if (value == null) {
            errors.add(field + " is required");
            return;
        }
        checkText(field, value, MAX_NAME_LENGTH, errors);
    }

    private static void checkText(String field, String value, int maxLength, List<String> errors) {
        if (value.isBlank()) {
            errors.add(field + " must not be blank");
        }
        else if (value.codePointCount(0, value.length()) > maxLength) {
            errors.add(field + " must be at most " + maxLength + " characters");
        }
    }

    private static String abbreviate(String value) {
        return (value.length() <= 40) ? value : value.substring(0, 40) + "...";
    }

}
