/**
 * The reference control plane: what tests, demos and benchmarks run against, and what
 * integrators read to learn the server side of {@code airlock.v1}.
 */
package io.airlock.controlplane;
