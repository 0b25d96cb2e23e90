// Package bench is falcoc's A/B cost harness (`make bench`, the
// falcoc-bench command). It measures what a running falco-run costs the
// rest of the machine, against no agent at all, in each prefilter mode
// (off, evttype, full) of one binary on one machine.
//
// For each round, the configurations run interleaved: no agent, then
// falco-run --prefilter=off, evttype and full, each started as a separate
// process. Once falco-run says it is ready, the harness times each
// workload in its own process (a getppid loop, an openat+close loop on an
// ordinary file, an openat+close loop on /etc/shadow, and a shell loop of
// common commands), and reads falco-run's kernel counters (the "counters"
// BPF map, found through /proc/PID/fdinfo) before and after each workload,
// so that each workload gets the counters of its own time window. The
// medians over rounds, the ratios to no agent and the share of events
// dropped in the kernel are printed as a table (or JSON).
//
// The kernel counters are system-wide: events of other processes running
// at the same time are counted too. Run the harness on a quiet machine.
//
// Running it needs root (BPF); [Main] exits with status 2 otherwise.
package bench
