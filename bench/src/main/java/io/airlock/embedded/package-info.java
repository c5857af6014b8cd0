/**
 * A control plane and an enrolled daemon in one process, on loopback: what {@code airlock dev}
 * and the benchmarks run on.
 */
package io.airlock.embedded;
