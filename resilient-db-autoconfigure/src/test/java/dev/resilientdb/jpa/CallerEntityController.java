package dev.resilientdb.jpa;

import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Loads the account in the request, as a controller does, and hands the entity (or its id) to
 * {@link CallerEntityService}. Failures are answered by the starter's problem responses.
 */
@RestController
class CallerEntityController {

    private final AccountRepository accounts;

    private final CallerEntityService service;

    CallerEntityController(AccountRepository accounts, CallerEntityService service) {
        this.accounts = accounts;
        this.service = service;
    }

    @PostMapping("/caller-entities/{id}/{idiom}")
    String deposit(@PathVariable("id") String id, @PathVariable("idiom") String idiom, @RequestParam("amount") int amount,
            @RequestParam("deposit") String deposit, @RequestParam("fault") CallerEntityService.Fault fault) {
        switch (idiom) {
            case "saved" -> this.service.depositSaved(this.accounts.findById(id).orElseThrow(), amount, deposit, fault);
            case "dirty-checked" ->
                this.service.depositDirtyChecked(this.accounts.findById(id).orElseThrow(), amount, deposit, fault);
            case "by-id" -> this.service.depositById(id, amount, deposit, fault);
            default -> throw new IllegalArgumentException(idiom);
        }
        return "deposited " + deposit;
    }

}
