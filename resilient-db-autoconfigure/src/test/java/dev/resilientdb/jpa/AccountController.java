package dev.resilientdb.jpa;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The web entry of the JPA test application: a request that opens an account, so that the
 * service runs inside a request with open-in-view when Spring Boot's default applies. A failure
 * answers 500 with the type and first message line of the exception and of its root cause, for the
 * test to report.
 */
@RestController
class AccountController {

    private final AccountService service;

    AccountController(AccountService service) {
        this.service = service;
    }

    @PostMapping("/accounts/{id}")
    String open(@PathVariable("id") String id, @RequestParam("fault") AccountService.Fault fault) {
        this.service.open(id, fault);
        return "opened " + id;
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<String> failed(Exception ex) {
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String answer = describe(ex) + ((root != ex) ? "; root cause " + describe(root) : "");
        return ResponseEntity.internalServerError().body(answer);
    }

    private static String describe(Throwable failure) {
        String message = (failure.getMessage() != null) ? failure.getMessage().lines().findFirst().orElse("") : "";
        return failure.getClass().getName() + ": " + message;
    }

}
