/**
 * Hand-written code both ends of airlock.v1 share, so that neither keeps its own copy: the
 * join-token format (docs/protocol.md) and the bounded wait for a gRPC stream's flow-control
 * window.
 */
package io.airlock.proto.support;
