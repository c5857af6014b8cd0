/**
 * The daemon's local admin endpoint for ops (loopback only): health, readiness, Prometheus
 * metrics and a JSON status, read by {@code airlock status} and by monitoring.
 */
package io.airlock.daemon.admin;
