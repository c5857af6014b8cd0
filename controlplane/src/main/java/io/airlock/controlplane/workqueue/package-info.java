/**
 * A reference of the hosted platform's work queue for self-hosted environments (the published
 * `managed-agents-2026-04-01` beta API: poll, ack, heartbeat with compare-and-set, stop, stats,
 * list, retrieve), with a script API to enqueue sessions. Tests, {@code airlock dev --worker}
 * and integrators run workers against it; the official TypeScript SDK is the oracle of its
 * fidelity.
 */
package io.airlock.controlplane.workqueue;
