package dev.resilientdb.jpa;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.async.WebAsyncTask;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

/**
 * Opens accounts in asynchronous requests, the three ways Spring MVC offers: the service runs on
 * an async thread, to which open-in-view hands the request's EntityManager.
 */
@RestController
class AsyncAccountController {

    private final AccountService service;

    AsyncAccountController(AccountService service) {
        this.service = service;
    }

    @PostMapping("/async/callable/accounts/{id}")
    Callable<String> openInCallable(@PathVariable("id") String id, @RequestParam("fault") AccountService.Fault fault) {
        return () -> open(id, fault);
    }

    @PostMapping("/async/web-async-task/accounts/{id}")
    WebAsyncTask<String> openInWebAsyncTask(@PathVariable("id") String id,
            @RequestParam("fault") AccountService.Fault fault) {
        return new WebAsyncTask<>(() -> open(id, fault));
    }

    @PostMapping("/async/streaming/accounts/{id}")
    StreamingResponseBody openInStreamingBody(@PathVariable("id") String id,
            @RequestParam("fault") AccountService.Fault fault) {
        return (body) -> body.write(open(id, fault).getBytes(StandardCharsets.UTF_8));
    }

    private String open(String id, AccountService.Fault fault) {
        this.service.open(id, fault);
        return "opened " + id;
    }

}
