package dev.resilientdb.architecture;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import dev.resilientdb.retry.RetryEngine;
import org.jspecify.annotations.NullMarked;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.transaction.PlatformTransactionManager;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The structural rules of the code, checked on the compiled main classes: where auto-configuration and
 * the retry library may be used, what the core may depend on, null-marked packages, no field injection.
 */
class ArchitectureTests {

    private static final JavaClasses MAIN = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.resilientdb");

    @Test
    void userFacingApiDoesNotDependOnAutoConfiguration() {
        noClasses().that().resideOutsideOfPackage("dev.resilientdb.autoconfigure..")
            .should().dependOnClassesThat().resideInAPackage("dev.resilientdb.autoconfigure..")
            .allowEmptyShould(true)
            .check(MAIN);
    }

    @Test
    void autoConfigurationsLiveInAutoconfigurePackages() {
        classes().that().areAnnotatedWith(AutoConfiguration.class)
            .should().resideInAPackage("dev.resilientdb.autoconfigure..")
            .check(MAIN);
    }

    @Test
    void theRetryLibraryIsUsedInOnePlaceOnly() {
        // By suffix, not by name: the 3.5 line's translation rewrites FrameworkRetryLoop into SpringRetryLoop.
        noClasses().that().haveSimpleNameNotEndingWith("RetryLoop")
            .and().doNotHaveSimpleName("ResilientDbRetryAutoConfiguration")
            .and(DescribedPredicate.describe("are not nested in a retry loop",
                    (JavaClass type) -> !type.getName().contains("RetryLoop$")))
            .should().dependOnClassesThat().resideInAnyPackage("org.springframework.retry..", "org.springframework.core.retry..")
            .check(MAIN);
    }

    @Test
    void everyPackageIsNullMarked() {
        Set<String> packages = MAIN.stream().map(JavaClass::getPackageName).collect(Collectors.toCollection(TreeSet::new));
        assertThat(packages).isNotEmpty()
            .allSatisfy((name) -> assertThat(MAIN.getPackage(name).isAnnotatedWith(NullMarked.class))
                .as(name + " has a package-info.java with @NullMarked").isTrue());
    }

    @Test
    void coreDoesNotDependOnSpringBoot() {
        noClasses().that().resideInAnyPackage("dev.resilientdb.retry..", "dev.resilientdb.pool..")
            .should().dependOnClassesThat().resideInAPackage("org.springframework.boot..")
            .check(MAIN);
    }

    @Test
    void noFieldInjection() {
        fields().should().notBeAnnotatedWith(Autowired.class).andShould().notBeAnnotatedWith(Value.class).check(MAIN);
    }

    @Test
    void postProcessorBeanMethodsAreStatic() {
        methods().that().areAnnotatedWith(Bean.class)
            .and(returnPostProcessor())
            .should(beStatic())
            .allowEmptyShould(true)
            .check(MAIN);
    }

    /**
     * Every public way into the retry engine applies the boundary rules (join check, the
     * transaction's read-only flag, the breaker of its DataSource), which need the transaction manager.
     */
    @Test
    void publicEntryPointsOfTheRetryEngineNameATransactionManager() {
        methods().that().areDeclaredIn(RetryEngine.class).and().haveName("execute").and().arePublic()
            .should(takeATransactionManagerFirst())
            .check(MAIN);
    }

    private static ArchCondition<JavaMethod> takeATransactionManagerFirst() {
        return new ArchCondition<>("take a transaction manager as first parameter") {
            @Override
            public void check(JavaMethod method, ConditionEvents events) {
                boolean named = !method.getRawParameterTypes().isEmpty()
                        && method.getRawParameterTypes().get(0).isAssignableTo(PlatformTransactionManager.class);
                events.add(new SimpleConditionEvent(method, named,
                        method.getFullName() + " skips the boundary rules: it takes no transaction manager"));
            }
        };
    }

    private static DescribedPredicate<JavaMethod> returnPostProcessor() {
        return DescribedPredicate.describe("return a bean or bean factory post-processor",
                method -> method.getRawReturnType().isAssignableTo(BeanPostProcessor.class)
                        || method.getRawReturnType().isAssignableTo(BeanFactoryPostProcessor.class));
    }

    private static ArchCondition<JavaMethod> beStatic() {
        return new ArchCondition<>("be static") {
            @Override
            public void check(JavaMethod method, ConditionEvents events) {
                boolean isStatic = method.getModifiers().contains(com.tngtech.archunit.core.domain.JavaModifier.STATIC);
                events.add(new SimpleConditionEvent(method, isStatic, method.getFullName() + " is not static"));
            }
        };
    }

}
