/**
 * Actuator support: the database health indicator that never queues on an exhausted pool, and the
 * dbpool endpoint.
 */
@NullMarked
package dev.resilientdb.actuate;

import org.jspecify.annotations.NullMarked;
