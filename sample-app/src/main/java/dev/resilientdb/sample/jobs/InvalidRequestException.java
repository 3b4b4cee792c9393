package dev.resilientdb.sample.jobs;

import java.util.List;

/**
 * Raised when a request's fields break the API's limits; answered with 400 and one entry per
 * problem.
 */
public class InvalidRequestException extends RuntimeException {

    private final List<String> errors;

    InvalidRequestException(List<String> errors) {
        super(String.join("; ", errors));
        this.errors = List.copyOf(errors);
    }

    /** One sentence per problem, naming the field. */
    public List<String> getErrors() {
        return this.errors;
    }

}
