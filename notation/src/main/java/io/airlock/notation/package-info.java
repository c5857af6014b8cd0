/**
 * Durations and sizes as operators write them. A module of its own because both programs read
 * them (the daemon and the reference control plane), and neither may see the other's modules.
 */
package io.airlock.notation;
