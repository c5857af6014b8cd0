/**
 * Network code the egress proxy and the MCP tunnel share: IP literals in every spelling a
 * client may use, CIDR ranges, and the classification of addresses into the ranges that are
 * denied unless a rule names them. Pure functions: nothing here resolves or connects.
 */
package io.airlock.tunnel.net;
