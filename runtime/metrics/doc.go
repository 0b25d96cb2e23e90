// Package metrics turns falco-run's counters into what Falco reports:
// Prometheus metrics with Falco 0.44's names (through client_golang), and
// the "Falco internal: metrics snapshot" alert emitted every
// metrics.interval. falco-run's own quantities (the kernel prefilter's
// stages per syscall, the outputs, the k8s audit webhook) have the
// prefix falcoc_.
//
// The agent fills a [Snapshot] from its counters when asked; [Collector]
// asks for one on every scrape, [Alert] formats one. [ReadResources]
// reads the process's and the host's CPU and memory from /proc.
package metrics
