/**
 * Sandboxes across drivers: driver discovery and choice, and every sandbox operation through
 * {@link io.airlock.core.sandbox.SandboxService}, checked against the local policy
 * ({@link io.airlock.core.sandbox.LocalPolicy}: limits, capacity, exec and file caps).
 */
package io.airlock.core.sandbox;
