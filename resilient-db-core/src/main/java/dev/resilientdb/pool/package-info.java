/**
 * What the starter knows of a pool's database: the probe outside the pool, the database's state from
 * evidence, failover and saturation monitors, pooler modes.
 */
@NullMarked
package dev.resilientdb.pool;

import org.jspecify.annotations.NullMarked;
