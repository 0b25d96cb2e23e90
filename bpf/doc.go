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
// maps the ring buffers for reading; [Capture.Close] detaches and frees all of
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
// Ring buffers. Each possible CPU has its own BPF ring buffer (an array of
// ring buffer maps, indexed by bpf_get_smp_processor_id), so CPUs never
// contend for a buffer, and a full buffer loses only its CPU's records
// (counted per CPU, summed by [Capture.Counters]). [Options.RingBufferSize]
// is per CPU. The reader maps every buffer and waits on all of them with
// one epoll descriptor, in the reading goroutine: no goroutine per CPU.
//
// Reading merges the buffers by record timestamp. A buffer holds its CPU's
// records in commit order, and the merge only takes a buffer's oldest
// record (its head), so one CPU's records are never reordered. Across CPUs
// it takes the oldest head. When a buffer is empty, its CPU may be writing
// a record stamped before the other heads: the programs count, per CPU,
// the records being written (incremented before the stamp, decremented
// after the commit, in an mmapped array), and the merge takes a head ahead
// of an empty buffer only if, looked at after the head was read, that
// CPU's count was 0 and its buffer then still empty; otherwise it waits for
// the record, at most [Options.ReorderWindow] (a program preempted
// mid-record). A record that causes another (a fork before the child's
// exec, a thread's syscall before its next one on another CPU) is
// committed before its effect is even stamped, so causal order holds
// whatever the window. An idle CPU adds no latency. The merge costs about
// 25 ns per record in userspace, the copy included (BenchmarkMerge).
//
// Costs. An uninteresting syscall pays the hook, one per-CPU counter
// increment and one array lookup (BenchmarkAB/getppid/gate-miss). A
// syscall dropped by the prefilter additionally pays its dimension lookups
// and, for paths, one user string read and a word-at-a-time scan
// (BenchmarkAB/openat-close/dropped). A record sent pays its build, two
// atomic adds on its CPU's in-flight count and the ring buffer output;
// when the reader has caught up, the output also wakes it, which is most
// of a sent record's cost (BenchmarkAB/getppid/sent).
//
// Only x86_64 is supported: syscall ids are x86_64 ids, and 32-bit (ia32)
// syscalls are counted but never gated or sent.
package bpf
