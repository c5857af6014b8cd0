/** Benchmarks that run Airlock and a reference side by side in one run and report ratios (see BENCHMARKS.md). */
package io.airlock.bench;
