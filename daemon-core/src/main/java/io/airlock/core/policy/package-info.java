/**
 * Policy denials: what every part of the core throws when the local policy refuses something,
 * naming the rule. (The policy itself, {@code LocalPolicy}, is applied by the sandbox service;
 * egress allowlists are in {@code egress}.) The control plane is trusted to ask, not to decide.
 */
package io.airlock.core.policy;
