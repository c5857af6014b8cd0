/**
 * The agent's identity: join-token parsing, enrollment (key made here, CSR sent, certificate
 * stored with the key at mode 0600), and the TLS contexts built from it.
 */
package io.airlock.connector.grpc.identity;
