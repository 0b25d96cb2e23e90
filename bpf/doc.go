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
// Records. Every record is a fixed [Header] followed by typed items (paths,
// open arguments, sockaddrs, argv and environment, exec details); see
// headers/falcoc_abi.h for the byte layout. Syscall records are built at
// sys_exit, so they carry the return value, and user memory (paths,
// addresses) is read after the kernel has used it. A successful execve's
// registers are reset by the kernel, so its Args are zero; its program
// path comes from sched_process_exec and its argv and environment from the
// new mm. Strings the kernel cannot read (page not resident) are missing,
// and the matching Flag*Unknown bit is set; the prefilter then uses the
// table's Unknown mask.
//
// Ring buffer. All CPUs share one BPF ring buffer. Per-CPU buffers (an
// array of ring buffer maps) would need one cilium/ebpf reader per CPU and a
// merge in userspace, which costs goroutines or an own epoll loop and
// reorders events across CPUs anyway; on the 2-core machines this project
// targets, contention on one buffer is small. The record header carries the
// CPU, so a later split only touches the loader. Records keep the order in
// which they were committed.
//
// Costs. An uninteresting syscall pays the hook, one per-CPU counter
// increment and one array lookup (BenchmarkAB/getppid/gate-miss). A
// syscall dropped by the prefilter additionally pays its dimension lookups
// and, for paths, one user string read and a word-at-a-time scan
// (BenchmarkAB/openat-close/dropped).
//
// Only x86_64 is supported: syscall ids are x86_64 ids, and 32-bit (ia32)
// syscalls are counted but never gated or sent.
package bpf
