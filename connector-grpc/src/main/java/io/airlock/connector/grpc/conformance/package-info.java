/**
 * {@code airlock conformance}: a scripted agent that checks a control plane against the rules of
 * airlock.v1 an agent can observe, one verdict per rule (docs/protocol.md, "Implementing a
 * control plane").
 */
package io.airlock.connector.grpc.conformance;
