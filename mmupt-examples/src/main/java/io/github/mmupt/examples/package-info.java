/** Runnable programs built on mmupt-java: the embedded default and the benchmarks. */
package io.github.mmupt.examples;
