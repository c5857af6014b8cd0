/**
 * The server side of {@code AgentGateway}: agent sessions on the Control stream, Data streams
 * matched to the commands that asked for them, and {@link io.airlock.controlplane.gateway.AgentClient},
 * the API the admin service, the dev session and tests drive agents with.
 */
package io.airlock.controlplane.gateway;
