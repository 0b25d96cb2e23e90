// Package bpf is falcoc's kernel capture: the eBPF programs, their maps and
// the Go loader that fills them and reads the events.
//
// One tp_btf/sys_exit program sees every syscall. It looks up the syscall
// in the gate (a clause mask per syscall id); a zero entry returns at once.
// In [ModeFull] it then ANDs the mask with one lookup per dimension the
// syscall reads (comm, euid, container class, open flags class, path,
// socket family and port, ptrace request, exec filename) and sends the
// event only when some clause survives. The scheduler tracepoints
// sched_process_fork, sched_process_exec and sched_process_exit always
// send a record, for process state.
//
// The tables are pure data ([Tables]); [Capture.SetTables] writes them into
// the inactive half of double-buffered maps and flips one index, so no event
// is judged by a half-written set. The ABI (record header, items, map keys)
// is declared in headers/falcoc_abi.h; capture_bpfel.go and capture_bpfel.o
// are generated from capture.c by bpf2go (`make generate`, needs clang).
//
// Lifecycle: [Load] creates the maps, loads and attaches the programs and
// opens the ring buffer reader; [Capture.Close] detaches and frees all of
// it. Losing the last reference to a Capture without closing it leaks
// kernel objects until the process exits.
//
// Only x86_64 is supported: syscall ids are x86_64 ids, and 32-bit (ia32)
// syscalls are counted but never gated or sent.
package bpf
