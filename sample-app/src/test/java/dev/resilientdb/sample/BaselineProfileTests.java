package dev.resilientdb.sample;

import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.sample.jobs.BaselineJobService;
import dev.resilientdb.sample.jobs.JobService;
import org.junit.jupiter.api.Test;

import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.ApplicationContext;
import org.springframework.test.context.ActiveProfiles;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code baseline} profile, the "plain Spring Boot" side of the side-by-side benchmark: the
 * starter is off, jobs go through the hand-written {@code @Retryable} service, and
 * {@code /actuator/health/db} is Spring Boot's own indicator.
 */
@ActiveProfiles("baseline")
class BaselineProfileTests extends SampleHttpTestSupport {

    @Autowired
    ApplicationContext context;

    @Autowired
    JobService jobs;

    @Test
    void starterIsOffAndJobsGoThroughTheHandWrittenRetry() {
        assertThat(this.context.getBeanNamesForType(RetryEngine.class)).isEmpty();
        assertThat(AopUtils.getTargetClass(this.jobs)).isEqualTo(BaselineJobService.class);
        assertThat(AopUtils.isAopProxy(this.jobs)).isTrue();
        String account = newAccount();
        assertThat(postJob(jobJson(account, "baseline")).status()).isEqualTo(201);
        assertThat(get("/api/accounts/" + account + "/usage").json().get("jobs").asLong()).isEqualTo(1);
    }

    @Test
    void databaseHealthIsSpringBootsOwnIndicator() {
        Response health = send(java.net.http.HttpRequest
            .newBuilder(java.net.URI.create("http://localhost:" + this.managementPort + "/actuator/health/db"))
            .build());
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().path("details").has("validationQuery")).isTrue();
        assertThat(health.json().path("details").has("saturated")).isFalse();
    }

}
