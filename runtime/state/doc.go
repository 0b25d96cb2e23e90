// Package state keeps what the kernel's task list looked like at the
// events seen so far: processes and threads, their file descriptors,
// their users and groups, and their containers. The engine seeds a
// [Table] from /proc at start ([Table.Seed]) and then calls its update
// methods ([Table.Fork], [Table.Exec], [Table.Exit], [Table.Open], ...)
// with plain values as it decodes events; the field extractors read
// [Thread], [Process] and [FD] values through lookups.
//
// The state updates an event implies live here, next to the tables they
// change: [ApplyBefore] and [ApplyAfter] (through an [Updater], which
// remembers per event type what to do) turn a decoded event
// (runtime/event) into the update calls, and [ApplyProc] applies a
// trace's process context. Which syscalls update the state is the
// catalog's one list (catalog.StateSyscalls).
//
// The package knows nothing of BPF or of the replay encoding.
//
// Lifecycle hazards:
//   - A [Table] is not safe for concurrent use; one goroutine owns it.
//   - An exited thread stays visible until the next lifecycle update
//     (Fork, Exec, Exit) or [Table.Flush], so that the exit event itself
//     can still be enriched. Pointers from lookups must not be kept
//     across events.
//   - The table is bounded ([Options].MaxThreads); beyond it threads are
//     evicted and counted in [Stats].
//   - Derived strings (Cmdline, ArgsString, ...) are cached and rebuilt
//     only when their inputs change, so reading them allocates nothing in
//     steady state.
//
// [Users] resolves uids and gids from the host's /etc files and from a
// container's root, reloading changed files at most every few seconds;
// it is safe for concurrent use. Container ids come from cgroup paths,
// see package [github.com/falcoc/falcoc/runtime/state/container].
package state
