/**
 * The outbound connection to the control plane: one Control stream kept alive for the life of
 * the process (reconnect with capped, jittered backoff; application pings with a reply
 * deadline), and Data streams opened per byte-moving operation.
 */
package io.airlock.connector.grpc;
