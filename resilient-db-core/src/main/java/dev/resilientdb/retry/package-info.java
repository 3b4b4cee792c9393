/**
 * Re-running transactions on transient failures: the retry engine, the annotation and the template,
 * the failure classifier, the circuit breaker and budget, commit-outcome resolution and the
 * transaction managers that keep a fault's own failure.
 */
@NullMarked
package dev.resilientdb.retry;

import org.jspecify.annotations.NullMarked;
