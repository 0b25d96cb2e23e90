// Package live is falco-run's live event source: it owns the kernel
// capture ([bpf.Capture]) and turns its records into [event.Event]s for
// the engine.
//
// Records map to events as follows:
//   - a syscall exit record becomes the catalog event of its syscall id
//     (x86_64), its parameters filled from the arguments and items as the
//     table in specs.go says (flags keep their Linux values, paths and
//     names are interned strings, socket addresses become netip values);
//   - a successful execve or execveat also carries the new program's
//     argv, environment, comm, credentials, capabilities, tty, loginuid,
//     executable inode and memfd flag, and the process's cgroups (read
//     from /proc/<pid>/cgroup once per cgroup id and cached);
//   - a sched_process_fork record becomes the parent's "clone" event
//     (result: the child's tid), so the parent's own clone exit record is
//     skipped; the child's clone exit (result 0) stays an event and
//     carries the child's ids in its own pid namespace (vtid, vpid);
//   - a sched_process_exit record becomes "procexit";
//   - a sched_process_exec record carries nothing the execve exit lacks
//     and is skipped (counted).
//
// Records that cannot be decoded are counted, never silently dropped:
// see [Source.Stats]. Every new cgroup id is classified (host or
// container, by runtime/state/container's parser) and its class written
// into the capture's cgroup map, so the kernel's container dimension
// knows it.
//
// Decoding allocates nothing in steady state: the event is reused,
// strings come from a bounded intern table, buffers are reused.
//
// [EvttypeTables] builds prefilter tables from an artifact's syscall set
// until the prefilter planner's tables replace them.
package live
