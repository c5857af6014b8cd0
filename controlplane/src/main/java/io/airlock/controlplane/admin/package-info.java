/** The admin API (loopback, bearer token) and the {@code airlock cp} command line built on it. */
package io.airlock.controlplane.admin;
