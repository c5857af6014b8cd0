/** {@code airlock cp}: run the reference control plane and drive agents through its admin API. */
package io.airlock.controlplane.cli;
