//go:build ignore

// falcoc kernel capture: one tp_btf/sys_exit program for every syscall,
// gated by a per-syscall clause mask and narrowed by per-dimension tables
// (the prefilter), plus the scheduler tracepoints for fork, exec and exit.
// The ABI shared with Go is in headers/falcoc_abi.h.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "falcoc_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Flavours of the sys_exit program; the loader loads one (capture.go):
 *
 *   on_sys_exit          FL_LOOP              5.17 and later, before 6.10
 *   on_sys_exit_noloop   0                    5.10 to 5.16
 *   on_sys_exit_preempt  FL_LOOP | FL_PREEMPT | FL_STATIC  6.10 and later
 *   on_sys_exit_pglobal  FL_LOOP | FL_PREEMPT             where allowed
 *
 * FL_LOOP resolves the executable's path with bpf_loop. FL_PREEMPT runs
 * the program with preemption disabled (bpf_preempt_disable): newer
 * kernels run syscall tracepoints preemptible, and a program preempted
 * mid-run makes the kernel skip the program for every other task on that
 * CPU until it resumes (recursion misses: events never seen), while the
 * scheduler programs could write the per-CPU scratch under it. Until
 * about 6.12 the verifier refuses calls to global functions with
 * preemption disabled, so that flavour calls static copies of them
 * (FL_STATIC), checked at each call site instead of once: for a wide
 * clause mask the verifier's work doubles. Newer verifiers accept the
 * global calls (6.18.44 does): the loader tries on_sys_exit_pglobal for a
 * mask wider than the record header's and falls back to the static
 * flavour when the kernel refuses it. */
#define FL_LOOP 1
#define FL_STATIC 2
#define FL_PREEMPT 4

extern void bpf_preempt_disable(void) __ksym __weak;
extern void bpf_preempt_enable(void) __ksym __weak;

#define TS_COMPAT 0x0002
#define AT_FDCWD -100
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_TMPFILE 020000000

/* Per-CPU scratch holding the record being built. Offsets are masked with
 * SCRATCH_MASK and no single write exceeds ITEM_MAX, so every access stays
 * inside the value. */
#define SCRATCH_SIZE 32768 /* the per-CPU value limit */
#define SCRATCH_MASK 0x3fff
#define ITEM_MAX 4096
#define ITEM_HDR 8

/* Table sizes. Keys carry the set (0 or 1), so each map holds two sets. */
#define SETS 2
#define COMM_ENTRIES 8192
#define UID_ENTRIES 8192
#define SOCK_ENTRIES 8192
#define PTRACE_ENTRIES 256
#define PATH_ENTRIES 16384
#define SUFFIX_ENTRIES 8192
#define SUFFIX_MAX 64
#define CGROUP_ENTRIES 16384
#define STASH_ENTRIES 8192

/* Runtime configuration, written by userspace through the mmapped .bss. */
volatile __u32 falcoc_mode;
volatile __u32 falcoc_set;
/* Non-zero once userspace has read its descriptor state from /proc: the fd
 * marks below may then drop state events (full mode only). */
volatile __u32 falcoc_fdmarks;
/* Non-zero keeps every process lifecycle record that full mode would
 * drop as redundant (see fork_sent): FALCOC_LIFECYCLE=0. */
volatile __u32 falcoc_keep_lifecycle;
/* Changes of the descriptor marks that close_memo must see (see
 * close_untracked): the programs add 1 to falcoc_marks_begin before a mark
 * goes from 0 to 1 or an entry of fdmarks is written or removed, and 1 to
 * falcoc_marks_end after it; userspace does the same with its own pair
 * around its rewrite of the marks (SetFDMarks). */
volatile __u64 falcoc_marks_begin;
volatile __u64 falcoc_marks_end;
volatile __u64 falcoc_marks_ubegin;
volatile __u64 falcoc_marks_uend;

/* Kernel features, decided by the loader from the kernel's BTF before the
 * programs load (features.go). They live in .rodata, which is frozen
 * before the verifier runs: it follows only the branch this kernel can
 * take, so it never meets a helper or tracepoint argument the kernel
 * lacks. The defaults are the newest kernels'. */
volatile const __u32 falcoc_has_task_btf = 1;       /* bpf_get_current_task_btf (5.11) */
volatile const __u32 falcoc_has_task_pt_regs = 1;   /* bpf_task_pt_regs (5.15) */
volatile const __u32 falcoc_has_exit_group_dead = 1; /* sched_process_exit(p, group_dead) (newer kernels) */
/* The clause mask's width in 64-bit words, FALCOC_MASK_HEAD_WORDS to
 * FALCOC_MASK_WORDS_MAX, set by the loader from the rules with the maps'
 * value sizes (see falcoc_abi.h). */
volatile const __u32 falcoc_mask_words = FALCOC_MASK_HEAD_WORDS;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SETS * FALCOC_NR_SYSCALLS);
	__type(key, __u32);
	__type(value, struct falcoc_gate);
} gate SEC(".maps");

/* 32-bit syscall number -> the x86_64 syscall it means, or -1 (written
 * once at load from bpf/ia32.go; not double-buffered: a fact about the
 * kernel's ABI, not about rules). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FALCOC_NR_SYSCALLS);
	__type(key, __u32);
	__type(value, __s32);
} ia32_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SETS * FALCOC_NR_SLOTS);
	__type(key, __u32);
	__type(value, struct falcoc_mask);
} dflt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COMM_ENTRIES);
	__type(key, struct falcoc_comm_key);
	__type(value, struct falcoc_mask);
} comm_tbl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, UID_ENTRIES);
	__type(key, struct falcoc_uid_key);
	__type(value, struct falcoc_mask);
} uid_tbl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SETS * 16);
	__type(key, __u32);
	__type(value, struct falcoc_mask);
} openflags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PATH_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct falcoc_path_key);
	__type(value, struct falcoc_mask);
} path_tbl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PATH_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct falcoc_path_key);
	__type(value, struct falcoc_mask);
} exe_tbl SEC(".maps");

/* The suffix dimension: an LPM trie keyed by the last SUFFIX_MAX bytes of
 * the open family's normalized path, reversed, so that the longest prefix
 * match is the longest suffix (keys are falcoc_path_key, the set first). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SUFFIX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct falcoc_path_key);
	__type(value, struct falcoc_mask);
} suffix_tbl SEC(".maps");

/* The clauses each trie can narrow, per first byte of its key's path
 * (after the path's leading '/' for the path trie; the path's last byte,
 * a trailing '/' dropped, for the suffix trie): index (set * 2 + trie) *
 * 256 + byte, trie LPM_PATH or LPM_SUFFIX. An entry's bucket holds the
 * clauses whose bit differs between the entry's value and the table's
 * default (an entry too short to have that byte: every bucket). When a
 * path's bucket shares no clause with the event's mask, every entry the
 * lookup could return ANDs the mask as the default does, so the lookup is
 * skipped (written by the loader, with the set's other arrays). */
#define LPM_PATH 0
#define LPM_SUFFIX 1
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SETS * 2 * 256);
	__type(key, __u32);
	__type(value, struct falcoc_mask);
} lpm_used SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SOCK_ENTRIES);
	__type(key, struct falcoc_sock_key);
	__type(value, struct falcoc_mask);
} sock_tbl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PTRACE_ENTRIES);
	__type(key, struct falcoc_ptrace_key);
	__type(value, struct falcoc_mask);
} ptrace_tbl SEC(".maps");

/* Descriptor marks: per process (tgid), one byte per descriptor below
 * FDMARK_FDS, zero when userspace holds no state about that descriptor,
 * so that a close, dup or fcntl of it changes nothing there and need not
 * be sent. A missing entry (never written, evicted) means every byte is
 * one; poison means the same for good (the process shares its descriptor
 * table with another process). Bytes, not bits: a byte store cannot lose a
 * neighbour's update, and 5.10 has no atomic OR.
 *
 *   - a successful close of fd, always sent for the state, clears its
 *     byte (creating the entry all ones) before its record is stamped:
 *     userspace removes the descriptor when it applies the record (see
 *     marks_begin for other threads);
 *   - every other sent event sets the bytes of its first argument and of
 *     its return value (and of the pair pipe and socketpair wrote) after
 *     it is sent, which covers every descriptor userspace can learn of
 *     from an event;
 *   - fork copies the parent's entry to a new process (userspace copies
 *     its table too) when no update of the parent's entry can have crossed
 *     the fork record (see ops), else removes the child's (stale: pid
 *     reuse); a shared table poisons both; the process's exit removes its
 *     entry.
 *
 * ops counts the updates of the entry by events of a process with several
 * threads, so that it can be forked with its marks: such an event adds 1
 * (low half) before it clears a byte or is stamped (creating the entry if
 * needed, so that no update goes uncounted), and 1 << 32 (high half) once
 * its marks are updated. Only an event whose record is built counts: a
 * dropped one changes no mark, so the events the prefilter drops pay
 * nothing here. A single-threaded process cannot fork while one of its
 * events is in flight. The fork reads ops before its record is
 * stamped and again after the copy: if no event was in flight at the first
 * read and none started since, every event of the parent is either stamped
 * before the fork with its marks in the copy, or stamped after it with its
 * marks not in the copy, which is the order in which userspace applies
 * them. */
#define FDMARK_FDS 512
#define FDMARK_ENTRIES 8192
struct fdmark {
	__u8 fd[FDMARK_FDS];
	__u64 poison;
	__u64 ops;
};
#define FDMARK_OP_BEGIN 1ULL
#define FDMARK_OP_END (1ULL << 32)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FDMARK_ENTRIES);
	__type(key, __u32);
	__type(value, struct fdmark);
} fdmarks SEC(".maps");

/* close_memo: per CPU, the last close close_untracked found untracked:
 * its process, descriptor and the counts of changes begun that it read
 * before the lookup, when no change was under way. While no change has
 * begun since, the same close is still untracked. */
struct close_memo {
	__u64 begin;
	__u64 ubegin;
	__s64 fd;
	__u32 tgid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct close_memo);
} close_memo SEC(".maps");

/* marks_begin_change and marks_end_change surround every change of the
 * marks that could make a close tracked: a mark going from 0 to 1, an
 * entry of fdmarks written or removed (a mark going to 0 needs neither:
 * close_memo only remembers zeros). Locked adds: each is visible before
 * what follows it. */
static __always_inline void marks_begin_change(void)
{
	__sync_fetch_and_add(&falcoc_marks_begin, 1);
}

static __always_inline void marks_end_change(void)
{
	__sync_fetch_and_add(&falcoc_marks_end, 1);
}

/* The two fresh entries (every byte one; index 1 poisoned), written once
 * by the loader: the source of every entry the programs create. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct fdmark);
} fdmark_fresh SEC(".maps");

/* cgroup id -> FALCOC_CGROUP_*; a missing id is "unknown". Not
 * double-buffered: it holds facts about the host, not rules. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGROUP_ENTRIES);
	__type(key, __u64);
	__type(value, __u32);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FALCOC_NR_KINDS);
	__type(key, __u32);
	__type(value, struct falcoc_counters);
} counters SEC(".maps");

struct falcoc_scratch {
	__u8 buf[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct falcoc_scratch);
} scratch SEC(".maps");

/* An LPM key with 16 spare bytes, so that the word-wise scan below may
 * read past the path. The value of exec_stash. */
struct scan_key {
	struct falcoc_path_key k;
	__u8 spare[16];
};

/* sched_process_exec stores bprm->filename here for the execve exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STASH_ENTRIES);
	__type(key, __u32);
	__type(value, struct scan_key);
} exec_stash SEC(".maps");

/* Children whose fork record reached the ring buffer: child tid -> the
 * child's start_time (which tells a reused tid apart). Written only when
 * the child is in the initial pid namespace and in its parent's cgroups:
 * then the fork record says all that the child's own return from the
 * fork says to userspace (runtime/state creates the child from the
 * record with the parent's image and credentials, and with its host ids
 * as its ids in its namespace: the ids, comm and cgroup its return would
 * carry), and that return is dropped in full mode when no rule looks at
 * it (see redundant). Any other child, and a child whose fork record
 * was lost or missed, sends its return as before. The parent's return
 * from the fork is never read by userspace (the fork record is its
 * clone event) and is dropped in full mode. */
#define FORK_ENTRIES 4096
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FORK_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} fork_sent SEC(".maps");

/* One ring buffer per CPU: the loader sizes the array to the possible CPUs
 * and puts a ring buffer of the configured size at each index. A program
 * writes to the ring of the CPU it runs on, so CPUs never contend for a
 * ring and each ring holds its CPU's records in commit order. */
struct events_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct events_ring);
} events SEC(".maps");

/* Records being written, per CPU: incremented before a record is stamped,
 * decremented once it is in the ring (or lost). The reader maps the array
 * and looks at a CPU's count before it decides that the CPU's empty ring
 * holds back no record older than another CPU's head. One cache line per
 * CPU; the loader sizes the array to the possible CPUs. */
struct inflight_slot {
	__u64 n;
	__u64 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct inflight_slot);
} inflight SEC(".maps");

/* Updating an element of a map-in-map makes the bpf() syscall wait for an
 * RCU grace period: userspace uses this as a barrier after flipping
 * falcoc_set, so no program still runs with the old set. Never read here. */
struct barrier_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} barrier_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct barrier_inner);
} barrier SEC(".maps") = {
	.values = {&barrier_inner},
};

/* Unused globals that make clang emit BTF for the ABI types bpf2go exports. */
const struct falcoc_hdr *unused_hdr __attribute__((unused));
const struct falcoc_item *unused_item __attribute__((unused));
const struct falcoc_open *unused_open __attribute__((unused));
const struct falcoc_exec *unused_exec __attribute__((unused));
const struct falcoc_fork *unused_fork __attribute__((unused));
const struct falcoc_exectp *unused_exectp __attribute__((unused));
const struct falcoc_exit *unused_exit __attribute__((unused));

/* Masks: the words past FALCOC_MASK_HEAD_WORDS are touched only when
 * the loader set a wider mask; the verifier knows falcoc_mask_words and
 * follows no branch past it, so a 256-bit mask costs what it did.
 *
 * Every mask these operations write is the working mask (mask_at): the
 * word before it holds the OR of its words, which each operation keeps,
 * so that mask_zero reads one word, whatever the width. */
/* WIDE_WORDS runs stmt for each word i past FALCOC_MASK_HEAD_WORDS that
 * the mask has (a wider mask only): unrolled, so the verifier, which
 * knows falcoc_mask_words, follows no word past the width. */
#define WIDE_WORDS(i, stmt)                                                         \
	do {                                                                        \
		if (falcoc_mask_words > FALCOC_MASK_HEAD_WORDS) {                   \
			_Pragma("unroll") for (int i = FALCOC_MASK_HEAD_WORDS;      \
					       i < FALCOC_MASK_WORDS_MAX; i++) {    \
				if (i >= falcoc_mask_words)                         \
					break;                                      \
				stmt;                                               \
			}                                                           \
		}                                                                   \
	} while (0)

static __always_inline __u64 *mask_left(struct falcoc_mask *m)
{
	return (__u64 *)m - 1;
}

static __always_inline int mask_zero(struct falcoc_mask *m)
{
	return !*mask_left(m);
}

static __always_inline void mask_and(struct falcoc_mask *m, const struct falcoc_mask *o)
{
	__u64 x = (m->w[0] &= o->w[0]);
	x |= (m->w[1] &= o->w[1]);
	x |= (m->w[2] &= o->w[2]);
	x |= (m->w[3] &= o->w[3]);
	WIDE_WORDS(i, x |= (m->w[i] &= o->w[i]));
	*mask_left(m) = x;
}

/* mask_meets reports whether m and o have a bit in common. */
static __always_inline int mask_meets(const struct falcoc_mask *m, const struct falcoc_mask *o)
{
	__u64 x = (m->w[0] & o->w[0]) | (m->w[1] & o->w[1]) | (m->w[2] & o->w[2]) | (m->w[3] & o->w[3]);
	WIDE_WORDS(i, x |= m->w[i] & o->w[i]);
	return x != 0;
}

static __always_inline void mask_copy(struct falcoc_mask *m, const struct falcoc_mask *o)
{
	__u64 x = (m->w[0] = o->w[0]);
	x |= (m->w[1] = o->w[1]);
	x |= (m->w[2] = o->w[2]);
	x |= (m->w[3] = o->w[3]);
	WIDE_WORDS(i, x |= (m->w[i] = o->w[i]));
	*mask_left(m) = x;
}

static __always_inline void mask_clear(struct falcoc_mask *m)
{
	*mask_left(m) = 0;
	m->w[0] = 0;
	m->w[1] = 0;
	m->w[2] = 0;
	m->w[3] = 0;
	WIDE_WORDS(i, m->w[i] = 0);
}

/* and_slot ANDs m with the default-array slot; a missing slot clears m. */
static __always_inline void and_slot(struct falcoc_mask *m, __u32 set, __u32 slot)
{
	__u32 i = set * FALCOC_NR_SLOTS + slot;
	struct falcoc_mask *v = bpf_map_lookup_elem(&dflt, &i);
	if (!v) {
		mask_clear(m);
		return;
	}
	mask_and(m, v);
}

static __always_inline void and_value(struct falcoc_mask *m, struct falcoc_mask *v, __u32 set,
				      __u32 slot)
{
	if (v)
		mask_and(m, v);
	else
		and_slot(m, set, slot);
}

#define ONES 0x0101010101010101ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL

/* eqmask has 0x01 in every byte of w equal to c, 0 elsewhere (exact: no
 * borrow between bytes). */
static __always_inline __u64 eqmask(__u64 w, __u64 c)
{
	__u64 x = w ^ (c * ONES);
	return ~(((x & LOW7) + LOW7) | x | LOW7) >> 7;
}

/* nul_keep returns the mask of the bytes of w before its first NUL (all
 * ones when w has none). */
static __always_inline __u64 nul_keep(__u64 w)
{
	__u64 z = eqmask(w, 0);
	return z ? (z & (~z + 1)) - 1 : ~0ULL;
}

/* comm_words copies t's comm into w[0..1] with every byte after the first
 * NUL cleared, as bpf_get_current_comm would give it, by two plain loads
 * through the BTF pointer instead of a helper call. */
static __always_inline void comm_words(struct task_struct *t, __u64 *w)
{
	__u64 a = *(__u64 *)&t->comm[0], b = *(__u64 *)&t->comm[8];
	__u64 ka = nul_keep(a);
	a &= ka;
	b = ~ka ? 0 : b & nul_keep(b);
	b &= 0x00ffffffffffffffULL; /* the kernel keeps the last byte NUL */
	w[0] = a;
	w[1] = b;
}

/* Where in the scratch an LPM key may be built (see key_at): in a record
 * (a path item's payload, below SCRATCH_MASK + ITEM_HDR) or at EXE_KEY,
 * the spare area where the exe dimension's key is built. */
#define EXE_KEY 0x6100
#define KEY_LIMIT 0x6200
/* A __u32 where exe_flags leaves the executable's flags for the execve
 * record (computed in a subprogram of its own: its frame is not on the
 * execve handler's call chain). */
#define EXE_FLAGS 0x6400
/* Where the suffix dimension's key is built (a falcoc_path_key). */
#define SUFFIX_KEY 0x6500
/* Where a syscall's clause mask is narrowed (FALCOC_MASK_WORDS_MAX words,
 * below DPATH_BASE, after the word mask_left keeps): mask_out copies it
 * into the record. */
#define MASK_AT 0x6800

static __always_inline struct falcoc_mask *mask_at(struct falcoc_scratch *s)
{
	return (struct falcoc_mask *)(s->buf + MASK_AT);
}

/* key_at returns the LPM key at offset off of the scratch, or 0. */
static __always_inline struct falcoc_path_key *key_at(struct falcoc_scratch *s, __u32 off)
{
	if (!s || off > KEY_LIMIT)
		return 0;
	/* The same bound in the register that is added (clang may check a
	 * copy): never taken, but the verifier sees it. */
	__u64 o = off;
	asm volatile("if %0 <= 0x6200 goto +1\n\t%0 = 0" : "+r"(o));
	return (struct falcoc_path_key *)(s->buf + o);
}

static __always_inline struct falcoc_scratch *scratch_cur(void)
{
	__u32 z = 0;
	return bpf_map_lookup_elem(&scratch, &z);
}

/* path_known reports whether the n-byte path of the LPM key at scratch
 * offset off (n without NUL) is an absolute path with no "//", "/./",
 * "../" and not ending in "/." or "..": only such a path can be matched
 * against the tables. It scans 8
 * bytes at a time, with a '/' written over the NUL so that the endings
 * look like the inner patterns, and may read 16 bytes past the key.
 * Global, so the verifier checks it once; its arguments are scalars, which
 * every kernel accepts for a global function (pointers need 5.12). */
static __always_inline int do_path_known(struct falcoc_scratch *s, __u32 off, __u32 n)
{
	struct falcoc_path_key *k = key_at(s, off);
	if (!k || n == 0 || n > FALCOC_PATH_MAX)
		return 0;
	__u8 *p = k->path;
	if (p[0] != '/')
		return 0;
	__u64 end = n;
	asm volatile("%0 &= 0xff" : "+r"(end)); /* a bound the verifier sees */
	p[end] = '/';
	__u64 bad = 0;
	/* The masks of each word are those of the previous one's next word. */
	__u64 s0 = eqmask(*(__u64 *)p, '/'), d0 = eqmask(*(__u64 *)p, '.');
	for (__u32 j = 0; j < (FALCOC_PATH_MAX + 8) / 8; j++) {
		__u32 o = j * 8;
		if (o >= n)
			break;
		__u64 hi = *(__u64 *)(p + o + 8);
		__u64 sh = eqmask(hi, '/'), dh = eqmask(hi, '.');
		__u64 s1 = (s0 >> 8) | (sh << 56), s2 = (s0 >> 16) | (sh << 48);
		__u64 d1 = (d0 >> 8) | (dh << 56);
		/* "//", "/./", "/../" starting at each byte, and "../" after
		 * anything ("a../b": a known path never contains "../") */
		__u64 hit = (s0 & (s1 | (d1 & s2))) | (d0 & d1 & s2);
		__u32 left = n - o;
		if (left < 8)
			hit &= (1ULL << (left * 8)) - 1;
		bad |= hit;
		s0 = sh;
		d0 = dh;
	}
	p[end] = 0;
	return bad == 0;
}

__noinline int path_known(__u32 off, __u32 n)
{
	return do_path_known(scratch_cur(), off, n);
}

/* The static copy gets the scratch from its caller (a static function may
 * take a map value pointer; the global one, verified alone, may not
 * before 5.12), which saves a lookup per path. */
static __noinline int path_known_s(struct falcoc_scratch *s, __u32 off, __u32 n)
{
	return do_path_known(s, off, n);
}

/* lpm_prepare completes the LPM key at scratch offset off, whose path
 * holds a string of n bytes (NUL included), and returns the path length
 * when the path is usable, or -1. */
static __always_inline long lpm_prepare(struct falcoc_scratch *s, __u32 off, __u32 set, long n,
					const int fl)
{
	/* n counts the NUL; a full key (FALCOC_PATH_MAX + 2) may have been cut. */
	struct falcoc_path_key *k = key_at(s, off);
	if (!k || n <= 1 || n > FALCOC_PATH_MAX + 1)
		return -1;
	if (!((fl & FL_STATIC) ? path_known_s(s, off, n - 1) : path_known(off, n - 1)))
		return -1;
	k->set = set;
	k->prefixlen = 8 * (1 + n);
	return n - 1;
}

/* Record building. The record is assembled in the per-CPU scratch; while
 * it is built, hdr.size is the write offset and hdr.nitems the item count.
 * Offsets are masked with SCRATCH_MASK and no write exceeds
 * ITEM_HDR + 2*ITEM_MAX bytes, so every access stays inside the value. */

static __always_inline struct falcoc_hdr *hdr_of(struct falcoc_scratch *s)
{
	return (struct falcoc_hdr *)s->buf;
}

/* uptr is a user pointer argument as the syscall used it: a 32-bit
 * syscall's arguments are sign-extended, its pointers are 32 bits. */
static __always_inline const void *uptr(struct falcoc_hdr *h, __u64 a)
{
	if (h->flags & FALCOC_F_COMPAT)
		a &= 0xffffffffULL;
	return (const void *)a;
}

static __always_inline __u8 *item_at(struct falcoc_scratch *s, __u16 type, __u32 len)
{
	__u32 o = hdr_of(s)->size & SCRATCH_MASK;
	struct falcoc_item *it = (void *)(s->buf + o);
	it->type = type;
	it->len = len;
	it->pad = 0;
	return s->buf + o + ITEM_HDR;
}

static __always_inline void item_commit(struct falcoc_scratch *s, __u32 len)
{
	struct falcoc_hdr *h = hdr_of(s);
	__u32 o = h->size & SCRATCH_MASK;
	((struct falcoc_item *)(s->buf + o))->len = len;
	h->size = o + ITEM_HDR + ((len + 7) & ~7u);
	h->nitems++;
}

/* mask_out copies the narrowed mask into the record: the header's words,
 * and the others (a wider mask only) as a FALCOC_ITEM_MASK item. */
static __always_inline void mask_out(struct falcoc_scratch *s)
{
	struct falcoc_mask *m = mask_at(s);
	struct falcoc_hdr *h = hdr_of(s);
	h->mask.w[0] = m->w[0];
	h->mask.w[1] = m->w[1];
	h->mask.w[2] = m->w[2];
	h->mask.w[3] = m->w[3];
	if (falcoc_mask_words > FALCOC_MASK_HEAD_WORDS) {
		__u64 *d = (__u64 *)item_at(s, FALCOC_ITEM_MASK, 0);
		__u32 n = 0;
#pragma unroll
		for (int i = FALCOC_MASK_HEAD_WORDS; i < FALCOC_MASK_WORDS_MAX; i++) {
			if (i >= falcoc_mask_words)
				break;
			d[i - FALCOC_MASK_HEAD_WORDS] = m->w[i];
			n += 8;
		}
		item_commit(s, n);
	}
}

/* size_bound returns len cut to ITEM_MAX * 2 - 1 by a mask in the
 * register the helper gets: clang drops a plain mask it can prove
 * useless, and an older verifier, which cannot prove it, then sees a
 * size that may be negative (6.12). */
static __always_inline __u64 size_bound(__u64 len)
{
	asm volatile("%0 &= 0x1fff" : "+r"(len));
	return len;
}

/* add_user_str appends a string item read from user memory. */
static __always_inline long add_user_str(struct falcoc_scratch *s, __u16 type, const void *uptr)
{
	__u8 *d = item_at(s, type, 0);
	long n = bpf_probe_read_user_str(d, ITEM_MAX, uptr);
	if (n <= 0)
		return n;
	item_commit(s, n - 1);
	return n - 1;
}

/* add_kernel_str appends a string item read from kernel memory. */
static __always_inline void add_kernel_str(struct falcoc_scratch *s, __u16 type, const void *src)
{
	__u8 *d = item_at(s, type, 0);
	long n = bpf_probe_read_kernel_str(d, ITEM_MAX, src);
	if (n <= 0)
		return;
	item_commit(s, n - 1);
}

/* add_kernel_bytes appends len bytes copied from kernel memory src. */
static __always_inline void add_kernel_bytes(struct falcoc_scratch *s, __u16 type, const void *src,
					     __u32 len)
{
	if (len > ITEM_MAX)
		len = ITEM_MAX;
	__u8 *d = item_at(s, type, len);
	bpf_probe_read_kernel(d, size_bound(len), src);
	item_commit(s, len);
}

/* add_user_bytes appends up to ITEM_MAX bytes of user memory; returns 1
 * when the data was cut. */
static __always_inline int add_user_bytes(struct falcoc_scratch *s, __u16 type, const void *uptr,
					  __u64 len)
{
	int cut = 0;
	if (len > ITEM_MAX) {
		len = ITEM_MAX;
		cut = 1;
	}
	__u32 l = len;
	__u8 *d = item_at(s, type, l);
	if (bpf_probe_read_user(d, size_bound(l), uptr) < 0)
		l = 0;
	item_commit(s, l);
	return cut;
}

/* record_start starts an empty record in the scratch s. */
static __always_inline struct falcoc_hdr *record_start(struct falcoc_scratch *s)
{
	struct falcoc_hdr *h = hdr_of(s);
	h->size = sizeof(struct falcoc_hdr);
	h->flags = 0;
	h->nitems = 0;
	return h;
}

/* scratch_get returns the scratch with an empty record started in it. */
static __always_inline struct falcoc_scratch *scratch_get(void)
{
	struct falcoc_scratch *s = scratch_cur();
	if (!s)
		return 0;
	record_start(s);
	return s;
}

/* fill_hdr writes the task fields of the scratch record's header (not
 * mask, args, ret, size, flags or nitems). Global, so the verifier checks
 * it once. */
static __always_inline int do_fill_hdr(__u32 kind)
{
	struct falcoc_scratch *s = scratch_cur();
	if (!s)
		return 0;
	struct falcoc_hdr *h = hdr_of(s);
	__u32 cpu = bpf_get_smp_processor_id();
	struct inflight_slot *fl = bpf_map_lookup_elem(&inflight, &cpu);
	if (fl)
		__sync_fetch_and_add(&fl->n, 1);
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	h->kind = kind;
	h->cpu = cpu;
	if (falcoc_has_task_btf) {
		/* Plain loads through the task's BTF pointer: each probe read
		 * below costs a helper call (about 20 ns each on 6.18.44, more
		 * than half of what a sent event cost in the kernel). */
		struct task_struct *t = bpf_get_current_task_btf();
		const struct cred *cr = t->cred;
		h->cgroup_id = t->cgroups->dfl_cgrp->kn->id; /* as bpf_get_current_cgroup_id */
		h->tid = t->pid;
		h->tgid = t->tgid;
		h->ppid = t->real_parent->tgid;
		/* kuid/kgid values are the initial namespace's ids, which is
		 * what bpf_get_current_uid_gid returns. */
		h->uid = cr->uid.val;
		h->gid = cr->gid.val;
		h->euid = cr->euid.val;
		h->egid = cr->egid.val;
		h->loginuid = t->loginuid.val;
		__u64 cw[2];
		comm_words(t, cw);
		__builtin_memcpy(h->comm, cw, sizeof(cw));
		/* The namespace ids: the pid itself at level 0 (the initial
		 * namespace's number is the task's pid), else read. */
		struct pid *p = t->thread_pid;
		unsigned int level = p->level;
		h->vtid = level ? BPF_CORE_READ(p, numbers[level & 31].nr) : h->tid;
		struct task_struct *leader = t->group_leader;
		p = leader->thread_pid;
		level = p->level;
		h->vtgid = level ? BPF_CORE_READ(p, numbers[level & 31].nr) : h->tgid;
		return 0;
	}
	h->cgroup_id = bpf_get_current_cgroup_id();
	struct task_struct *t = (void *)bpf_get_current_task();
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();
	h->tid = (__u32)pt;
	h->tgid = pt >> 32;
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->euid = BPF_CORE_READ(t, cred, euid.val);
	h->egid = BPF_CORE_READ(t, cred, egid.val);
	h->loginuid = BPF_CORE_READ(t, loginuid.val);
	bpf_get_current_comm(h->comm, sizeof(h->comm));

	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	h->vtid = BPF_CORE_READ(p, numbers[level & 31].nr);
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	p = BPF_CORE_READ(leader, thread_pid);
	level = BPF_CORE_READ(p, level);
	h->vtgid = BPF_CORE_READ(p, numbers[level & 31].nr);
	return 0;
}

__noinline int fill_hdr(__u32 kind)
{
	return do_fill_hdr(kind);
}

static __noinline int fill_hdr_s(__u32 kind)
{
	return do_fill_hdr(kind);
}

/* send writes the record into this CPU's ring. Every record stamped by
 * fill_hdr must go through send, which ends its in-flight count. */
static __always_inline int send(struct falcoc_scratch *s, struct falcoc_counters *cnt)
{
	__u32 size = hdr_of(s)->size & SCRATCH_MASK;
	hdr_of(s)->size = size;
	__u32 cpu = bpf_get_smp_processor_id();
	int ok = 0;
	if (size >= sizeof(struct falcoc_hdr)) {
		void *ring = bpf_map_lookup_elem(&events, &cpu);
		if (ring && bpf_ringbuf_output(ring, s->buf, size, 0) == 0) {
			cnt->sent++;
			ok = 1;
		} else {
			cnt->lost++;
		}
	}
	struct inflight_slot *fl = bpf_map_lookup_elem(&inflight, &cpu);
	if (fl)
		__sync_fetch_and_add(&fl->n, -1);
	return ok;
}

/* Which arguments of a file syscall are paths (argument index, or -1). */
static __always_inline void path_args(__u32 id, int *p1, int *p2)
{
	*p1 = -1;
	*p2 = -1;
	switch (id) {
	case 2:   /* open */
	case 85:  /* creat */
	case 87:  /* unlink */
	case 83:  /* mkdir */
	case 84:  /* rmdir */
	case 90:  /* chmod */
	case 80:  /* chdir */
	case 76:  /* truncate */
	case 92:  /* chown */
	case 94:  /* lchown */
	case 133: /* mknod */
	case 161: /* chroot */
	case 166: /* umount2 */
	case 319: /* memfd_create: its name (not a path; the record carries it as one) */
		*p1 = 0;
		break;
	case 257: /* openat */
	case 437: /* openat2 */
	case 263: /* unlinkat */
	case 258: /* mkdirat */
	case 268: /* fchmodat */
	case 452: /* fchmodat2 */
	case 260: /* fchownat */
	case 259: /* mknodat */
		*p1 = 1;
		break;
	case 86:  /* link */
	case 88:  /* symlink */
	case 82:  /* rename */
	case 165: /* mount */
		*p1 = 0;
		*p2 = 1;
		break;
	case 265: /* linkat */
	case 264: /* renameat */
	case 316: /* renameat2 */
		*p1 = 1;
		*p2 = 3;
		break;
	case 266: /* symlinkat */
		*p1 = 0;
		*p2 = 2;
		break;
	}
}

#define CLS_OTHER 0
#define CLS_FILE 1
#define CLS_EXEC 2
#define CLS_SOCK 3

static __always_inline int class_of(__u32 id)
{
	switch (id) {
	case 59:
	case 322:
		return CLS_EXEC;
	case 42:
	case 43:
	case 44:
	case 46:
	case 49:
	case 50:
	case 288:
		return CLS_SOCK;
	}
	int p1, p2;
	path_args(id, &p1, &p2);
	return p1 >= 0 ? CLS_FILE : CLS_OTHER;
}

static __always_inline __u64 arg_at(const __u64 *a, int i)
{
	switch (i) {
	case 0: return a[0];
	case 1: return a[1];
	case 2: return a[2];
	case 3: return a[3];
	case 4: return a[4];
	default: return a[5];
	}
}

static __always_inline int is_open(__u32 id)
{
	return id == 2 || id == 257 || id == 437 || id == 85;
}

static __always_inline void open_info(struct falcoc_hdr *h, __u32 id, struct falcoc_open *o)
{
	const __u64 *a = h->args;
	o->resolve = 0;
	o->pad = 0;
	switch (id) {
	case 2:
		o->dirfd = AT_FDCWD;
		o->flags = a[1];
		o->mode = a[2];
		break;
	case 85:
		o->dirfd = AT_FDCWD;
		o->flags = O_CREAT | O_WRONLY | O_TRUNC;
		o->mode = a[1];
		break;
	case 257:
		o->dirfd = a[0];
		o->flags = a[2];
		o->mode = a[3];
		break;
	default: { /* openat2: struct open_how { u64 flags, mode, resolve; } */
		__u64 how[3] = {};
		bpf_probe_read_user(how, sizeof(how), uptr(h, a[2]));
		o->dirfd = a[0];
		o->flags = how[0];
		o->mode = how[1];
		o->resolve = how[2];
	}
	}
}

static __always_inline __u32 open_class(__u64 flags)
{
	__u32 cls = 0;
	__u64 acc = flags & O_ACCMODE;
	if (acc == 0 || acc == O_RDWR)
		cls |= FALCOC_OPEN_READ;
	if (acc == O_WRONLY || acc == O_RDWR)
		cls |= FALCOC_OPEN_WRITE;
	if (flags & (O_CREAT | O_TMPFILE))
		cls |= FALCOC_OPEN_CREATE;
	if (flags & O_TRUNC)
		cls |= FALCOC_OPEN_TRUNC;
	return cls;
}

/* and_openflags ANDs m with the open flags class table's entry for flags. */
static __always_inline void and_openflags(struct falcoc_mask *m, __u32 set, __u64 flags)
{
	__u32 i = set * 16 + open_class(flags);
	struct falcoc_mask *v = bpf_map_lookup_elem(&openflags, &i);
	if (v)
		mask_and(m, v);
	else
		mask_clear(m);
}

/* suffix_span returns the length of the known path of the LPM key at
 * scratch offset ko (plen bytes), a trailing '/' dropped, and sets *base
 * to the path's offset in the scratch: the bytes the suffix dimension
 * reads (suffix_key, suffix_byte). */
static __always_inline __u64 suffix_span(struct falcoc_scratch *s, __u32 ko, long plen, __u64 *base)
{
	__u64 l = plen;
	asm volatile("%0 &= 0xff" : "+r"(l));
	__u64 b = ko;
	asm volatile("%0 &= 0x7fff" : "+r"(b));
	b += 5; /* the key's path: after prefixlen and set */
	if (l > 1 && s->buf[(b + l - 1) & 0x7fff] == '/')
		l--;
	*base = b;
	return l;
}

/* suffix_key builds at SUFFIX_KEY the suffix table's key for the known
 * path of the LPM key at scratch offset ko (plen bytes): its last
 * SUFFIX_MAX bytes, a trailing '/' dropped, reversed eight at a time with
 * a byte swap. Words that start before the path read the record's bytes
 * in front of it, which land beyond the key's prefixlen. */
static __always_inline struct falcoc_path_key *suffix_key(struct falcoc_scratch *s, __u32 ko, long plen,
							    __u32 set)
{
	struct falcoc_path_key *sk = (struct falcoc_path_key *)(s->buf + SUFFIX_KEY);
	__u64 base;
	__u64 l = suffix_span(s, ko, plen, &base);
	__u64 n = l < SUFFIX_MAX ? l : SUFFIX_MAX;
	for (__u32 k = 0; k < SUFFIX_MAX / 8; k++) {
		__u64 o = base + l - 8 * (k + 1);
		asm volatile("if %0 <= 0x7ff0 goto +1\n\t%0 = 0" : "+r"(o));
		__u64 w = *(__u64 *)(s->buf + o);
		*(__u64 *)(sk->path + 8 * k) = __builtin_bswap64(w);
	}
	sk->set = set;
	sk->prefixlen = 8 * (1 + n);
	return sk;
}

/* fd_untracked reports whether the mark says userspace holds no state
 * about descriptor fd of the process. */
static __always_inline int fd_untracked(struct fdmark *e, __s64 fd)
{
	if (!e || e->poison || fd < 0 || fd >= FDMARK_FDS)
		return 0;
	return e->fd[fd & (FDMARK_FDS - 1)] == 0;
}

/* fd_mark sets the byte of fd (no entry: already all ones). */
static __always_inline void fd_mark(struct fdmark *e, __s64 fd)
{
	if (e && fd >= 0 && fd < FDMARK_FDS) {
		__u64 n = fd;
		asm volatile("%0 &= 511" : "+r"(n)); /* a bound 5.10's verifier sees */
		if (!e->fd[n]) {
			marks_begin_change();
			e->fd[n] = 1;
			marks_end_change();
		}
	}
}

/* fdmark_new writes an entry for tgid, every byte one, poisoned or not,
 * and returns it. */
static __always_inline struct fdmark *fdmark_new(__u32 tgid, __u32 poison)
{
	__u32 i = poison ? 1 : 0;
	struct fdmark *b = bpf_map_lookup_elem(&fdmark_fresh, &i);
	marks_begin_change();
	if (!b || (b->poison != 0) != (poison != 0)) {
		/* Not written yet: forget the process instead (all ones). */
		bpf_map_delete_elem(&fdmarks, &tgid);
		marks_end_change();
		return 0;
	}
	bpf_map_update_elem(&fdmarks, &tgid, b, BPF_ANY);
	marks_end_change();
	return bpf_map_lookup_elem(&fdmarks, &tgid);
}

/* current_tgid is the current process's id: a plain load through the
 * task's BTF pointer where the kernel has it (a helper call on the close
 * of every untracked descriptor otherwise). */
static __always_inline __u32 current_tgid(void)
{
	if (falcoc_has_task_btf)
		return bpf_get_current_task_btf()->tgid;
	return bpf_get_current_pid_tgid() >> 32;
}

/* state_unchanged reports whether a close, dup or fcntl changes nothing
 * in userspace's descriptor table (runtime/state): a failed call, an fcntl
 * other than F_DUPFD, a close of an untracked descriptor, a dup from and
 * onto untracked descriptors. */
static __always_inline int do_state_unchanged(__u32 id, __s64 fd, __u64 arg1, __s64 ret)
{
	if (id != 3 && id != 32 && id != 33 && id != 292 && id != 72)
		return 0;
	if (id == 72 && arg1 != 0 && arg1 != 1030) /* F_DUPFD, F_DUPFD_CLOEXEC */
		return 1;
	if (id == 3 ? ret != 0 : ret < 0)
		return 1; /* failed: no lookup */
	__u32 tgid = current_tgid();
	struct fdmark *e = bpf_map_lookup_elem(&fdmarks, &tgid);
	if (id == 3)
		return fd_untracked(e, fd);
	return fd_untracked(e, fd) && fd_untracked(e, ret);
}

/* current_single reports whether the current process has one thread. */
static __always_inline int current_single(void)
{
	if (falcoc_has_task_btf)
		return bpf_get_current_task_btf()->signal->nr_threads == 1;
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, signal, nr_threads) == 1;
}

/* marks_begin starts the marks update of an event whose record is about
 * to be stamped (see ops in fdmarks), when the marks are on: called just
 * before the record is stamped, never for a dropped event. Only a
 * process with several threads counts it (creating its entry if needed,
 * so that no update of it goes uncounted): a single-threaded one cannot
 * fork while one of its events is in flight. It returns FDMARKS_MT for a
 * process with several threads, with FDMARKS_HELD when it counted the
 * update, which fd_marks_sent then ends. For a successful close that will
 * be sent (the syscall is always sent for the state: capture), it clears
 * the byte of fd, before the record is stamped: a thread that gets the
 * same number from an open afterwards stamps its record later and sets the
 * byte after sending it, so the byte ends at one whenever userspace,
 * applying the records in time order, ends up holding the descriptor.
 * The preempt-disabled flavour calls the static copy, marks_begin_s, and
 * passes its result out in sys_exit's result (see MARKS_PENDING). */
#define FDMARKS_HELD (1 << 18)
#define FDMARKS_MT (1 << 19)
static __always_inline int do_marks_begin(__u32 id, __s64 fd, __s64 ret, __u32 capture)
{
	if (falcoc_mode != FALCOC_MODE_FULL || !falcoc_fdmarks)
		return 0;
	int close = id == 3 && ret == 0 && capture && fd >= 0 && fd < FDMARK_FDS;
	int mt = !current_single();
	if (!mt && !close)
		return 0;
	__u32 tgid = current_tgid();
	struct fdmark *e = bpf_map_lookup_elem(&fdmarks, &tgid);
	if (!e)
		e = fdmark_new(tgid, 0);
	if (!e)
		return mt ? FDMARKS_MT : 0;
	int r = 0;
	if (mt) {
		__sync_fetch_and_add(&e->ops, FDMARK_OP_BEGIN);
		r = FDMARKS_MT | FDMARKS_HELD;
	}
	if (close && !e->poison) {
		__u64 n = fd;
		asm volatile("%0 &= 511" : "+r"(n)); /* a bound 5.10's verifier sees */
		e->fd[n] = 0;
	}
	return r;
}

__noinline int marks_begin(__u32 id, __s64 fd, __s64 ret, __u32 capture)
{
	return do_marks_begin(id, fd, ret, capture);
}

static __noinline int marks_begin_s(__u32 id, __s64 fd, __s64 ret, __u32 capture)
{
	return do_marks_begin(id, fd, ret, capture);
}

/* Global (verified once, scalar arguments) and static (for the flavour
 * that runs with preemption disabled) copies. */
__noinline int state_unchanged(__u32 id, __s64 fd, __u64 arg1, __s64 ret)
{
	return do_state_unchanged(id, fd, arg1, ret);
}

static __noinline int state_unchanged_s(__u32 id, __s64 fd, __u64 arg1, __s64 ret)
{
	return do_state_unchanged(id, fd, arg1, ret);
}

/* fd_marks_sent updates the marks for an event whose record was built,
 * when the marks are on: idsent is the syscall id, with FDMARKS_SENT set
 * when the record reached the ring buffer, and marks_begin's result (five
 * arguments at most for a BPF call).
 * Pipe and socketpair's descriptors are read again from user memory (at
 * pairp). A lost record changed nothing in userspace, which may then still
 * hold what the call replaced or closed: the descriptor it returned (a
 * dup's new one) and a close's are marked tracked, nothing is cleared or
 * copied; so too for an update a process with several threads did not
 * count (its entry could not be made): it sets bytes only. */
#define FDMARKS_SENT (1 << 16)
/* fd_marks_update is fd_marks_sent's change of entry e (see there). */
static __always_inline void fd_marks_update(struct fdmark *e, __u32 tgid, __u32 id, int sent, __s64 arg0,
					    __u64 arg1, __s64 ret, __u64 pairp)
{
	if (id == 3 && sent)
		return; /* see marks_begin */
	if (!sent) {
		fd_mark(e, id == 3 ? arg0 : ret);
		return;
	}
	if (id == 32 || id == 33 || id == 292 || id == 72) {
		/* dup, dup2, dup3, fcntl: userspace copies the old descriptor's
		 * state onto the new one, or removes the new one when it does
		 * not know the old (an fcntl other than F_DUPFD changes nothing,
		 * its return value is no descriptor). */
		if (ret >= 0 && ret < FDMARK_FDS && arg0 >= 0 && arg0 < FDMARK_FDS &&
		    (id != 72 || arg1 == 0 || arg1 == 1030)) {
			__u64 n = ret, o = arg0; /* masks the verifier sees */
			asm volatile("%0 &= 511" : "+r"(n));
			asm volatile("%0 &= 511" : "+r"(o));
			__u8 v = e->fd[o];
			if (v && !e->fd[n]) {
				marks_begin_change();
				e->fd[n] = v;
				marks_end_change();
			} else {
				e->fd[n] = v;
			}
		} else if (id != 72)
			fd_mark(e, ret);
		return;
	}
	fd_mark(e, arg0);
	fd_mark(e, ret);
	if (pairp && ret == 0) {
		__s32 pair[2] = {-1, -1};
		if (bpf_probe_read_user(pair, sizeof(pair), (const void *)pairp) != 0) {
			fdmark_new(tgid, 1); /* not known: track nothing in this process */
			return;
		}
		fd_mark(e, pair[0]);
		fd_mark(e, pair[1]);
	}
}

static __always_inline void do_fd_marks_sent(__u32 idsent, __s64 arg0, __u64 arg1, __s64 ret, __u64 pairp)
{
	if (falcoc_mode != FALCOC_MODE_FULL || !falcoc_fdmarks)
		return;
	__u32 id = idsent & 0xffff;
	int sent = (idsent & FDMARKS_SENT) != 0;
	__u32 tgid = current_tgid();
	struct fdmark *e = bpf_map_lookup_elem(&fdmarks, &tgid);
	if (!e)
		return;
	if (!(idsent & FDMARKS_MT) || (idsent & FDMARKS_HELD))
		fd_marks_update(e, tgid, id, sent, arg0, arg1, ret, pairp);
	else
		fd_mark(e, id == 3 ? arg0 : ret);
	if (idsent & FDMARKS_HELD)
		__sync_fetch_and_add(&e->ops, FDMARK_OP_END);
}

__noinline int fd_marks_sent(__u32 idsent, __s64 arg0, __u64 arg1, __s64 ret, __u64 pairp)
{
	do_fd_marks_sent(idsent, arg0, arg1, ret, pairp);
	return 0;
}

/* pair_ptr is the user address of the two descriptors pipe, pipe2 and
 * socketpair wrote, or 0 for other syscalls. */
static __always_inline __u64 pair_ptr(__u32 id, int compat, __u64 a0, __u64 a3)
{
	__u64 p = id == 22 || id == 293 ? a0 : id == 53 ? a3 : 0;
	return compat ? p & 0xffffffffULL : p;
}

/* sys_exit's result in the preempt-disabled flavour when a record was
 * built: the syscall id, whether it was sent, whether it is a 32-bit
 * call, and marks_begin_s's result (FDMARKS_HELD, FDMARKS_MT), so that
 * the marks are updated once preemption is enabled again
 * (the verifier walks a static subprogram once per caller state, which
 * there cost more than half a million instructions). */
#define MARKS_PENDING (1 << 20)
#define MARKS_SLOT 0x6700 /* the result; +4 to +11: see sys_exit */

/* Result of a handler: the prefilter dropped the event, or it goes out. */
#define DROP 0
#define PASS 1

#define TASK_DIMS (FALCOC_DIM_COMM | FALCOC_DIM_UID | FALCOC_DIM_CONTAINER)
static __noinline int and_task_dims(struct falcoc_mask *m, __u32 set, __u32 dims, __u32 capture);

/* dim_used reports whether a clause left in m can be narrowed by the
 * table whose clauses the default-array slot lists (see
 * FALCOC_SLOT_PATH_USED): when none can, its lookup would change nothing
 * and is skipped. A missing slot: used. */
static __always_inline int dim_used(const struct falcoc_mask *m, __u32 set, __u32 slot)
{
	__u32 i = set * FALCOC_NR_SLOTS + slot;
	struct falcoc_mask *u = bpf_map_lookup_elem(&dflt, &i);
	if (!u)
		return 1;
	return mask_meets(m, u);
}

/* lpm_bucket_used reports whether a clause left in m can be narrowed by
 * an entry of trie (LPM_PATH, LPM_SUFFIX) whose key's first path byte is b
 * (see lpm_used): when none can, the lookup's result ANDs m as the
 * default does. A missing bucket: used. */
static __always_inline int lpm_bucket_used(const struct falcoc_mask *m, __u32 set, __u32 trie, __u8 b)
{
	__u32 i = (set * 2 + trie) * 256 + b;
	struct falcoc_mask *u = bpf_map_lookup_elem(&lpm_used, &i);
	if (!u)
		return 1;
	return mask_meets(m, u);
}

/* suffix_byte is the suffix key's first byte for the known path of the
 * LPM key at scratch offset ko (plen bytes): the path's last byte, a
 * trailing '/' dropped, as suffix_key reverses it. */
static __always_inline __u8 suffix_byte(struct falcoc_scratch *s, __u32 ko, long plen)
{
	__u64 base;
	__u64 l = suffix_span(s, ko, plen, &base);
	return s->buf[(base + l - 1) & 0x7fff];
}

/* handle_file: path syscalls, the open family included. */
static __always_inline int do_handle_file(struct falcoc_scratch *s, __u32 id, __u32 set, __u32 dims,
					  __u32 capture, const int fl)
{
	if (!s)
		return DROP;
	struct falcoc_hdr *h = hdr_of(s);
	struct falcoc_mask *m = mask_at(s); /* narrowed in place */
	struct falcoc_open oi = {};
	int open = is_open(id);
	if (open) {
		open_info(h, id, &oi);
		if (dims & FALCOC_DIM_OPENFLAGS) {
			and_openflags(m, set, oi.flags);
			if (mask_zero(m) && !capture)
				return DROP;
		}
	}

	int p1, p2;
	path_args(id, &p1, &p2);
	if (p1 < 0)
		return PASS;
	/* The path is read once, straight into the record as a path item's
	 * payload. For the lookup, the LPM key's prefixlen and set are
	 * written over the last 5 bytes of the item's header, so that the
	 * key's path is the payload; item_at writes the header again. */
	const void *u1 = uptr(h, arg_at(h->args, p1));
	__u32 ko = (h->size & SCRATCH_MASK) + ITEM_HDR - 5;
	__u8 *d = item_at(s, FALCOC_ITEM_PATH, 0);
	long praw = bpf_probe_read_user_str(d, FALCOC_PATH_MAX + 2, u1);
	/* Whether the path can be judged (path_known's scan) only matters
	 * to the path dimensions: evttype mode and rules that judge no path
	 * skip it. */
	long plen = -1;
	if (dims & (FALCOC_DIM_PATH | FALCOC_DIM_SUFFIX)) {
		plen = lpm_prepare(s, ko, set, praw, fl);
		if (plen < 0)
			h->flags |= FALCOC_F_PATH_UNKNOWN;
	}
	/* A known path's bucket (see lpm_used) decides between the lookup
	 * and the default; the clauses a bucket lists are among those the
	 * table can narrow (FALCOC_SLOT_PATH_USED), so that slot is only
	 * needed for an unknown path. */
	struct falcoc_path_key *pk = key_at(s, ko);
	if ((dims & FALCOC_DIM_PATH) && ((plen >= 0 && pk) || dim_used(m, set, FALCOC_SLOT_PATH_USED))) {
		if (plen < 0 || !pk)
			and_slot(m, set, FALCOC_SLOT_PATH_UNKNOWN);
		else if (!lpm_bucket_used(m, set, LPM_PATH, pk->path[1]))
			and_slot(m, set, FALCOC_SLOT_PATH_DEFAULT);
		else
			and_value(m, bpf_map_lookup_elem(&path_tbl, pk), set,
				  FALCOC_SLOT_PATH_DEFAULT);
		if (mask_zero(m) && !capture)
			return DROP;
	}

	if ((dims & FALCOC_DIM_SUFFIX) && (plen >= 0 || dim_used(m, set, FALCOC_SLOT_SUFFIX_USED))) {
		if (plen < 0)
			and_slot(m, set, FALCOC_SLOT_SUFFIX_UNKNOWN);
		else if (!lpm_bucket_used(m, set, LPM_SUFFIX, suffix_byte(s, ko, plen)))
			and_slot(m, set, FALCOC_SLOT_SUFFIX_DEFAULT);
		else
			and_value(m, bpf_map_lookup_elem(&suffix_tbl, suffix_key(s, ko, plen, set)), set,
				  FALCOC_SLOT_SUFFIX_DEFAULT);
		if (mask_zero(m) && !capture)
			return DROP;
	}

	/* The task's dimensions, after the path (see and_task_dims). */
	if ((dims & (FALCOC_DIM_PATH | FALCOC_DIM_SUFFIX)) &&
	    and_task_dims(m, set, dims & TASK_DIMS, capture) == DROP)
		return DROP;

	if (plen >= 0) {
		item_at(s, FALCOC_ITEM_PATH, plen);
		item_commit(s, plen);
	} else if (praw > 0 && praw < FALCOC_PATH_MAX + 2) { /* whole, but not usable */
		item_at(s, FALCOC_ITEM_PATH, praw - 1);
		item_commit(s, praw - 1);
	} else if (praw > 0) { /* maybe cut: read again, longer */
		add_user_str(s, FALCOC_ITEM_PATH, u1);
	}
	if (p2 >= 0)
		add_user_str(s, FALCOC_ITEM_PATH2, uptr(h, arg_at(h->args, p2)));
	if (open) {
		struct falcoc_open *o = (void *)item_at(s, FALCOC_ITEM_OPEN, sizeof(oi));
		*o = oi;
		item_commit(s, sizeof(oi));
	}
	return PASS;
}

/* The inode's timestamps moved twice: timespec64 i_ctime and i_mtime up
 * to 6.5, __i_ctime from 6.6 and __i_mtime from 6.7, separate seconds and
 * nanoseconds from 6.11. These flavours name the older layouts. */
struct inode___v66 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

struct inode___v510 {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

static __always_inline void inode_times(struct inode *ino, struct falcoc_exec *e)
{
	struct timespec64 c = {}, m = {};
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		e->exe_ctime_sec = BPF_CORE_READ(ino, i_ctime_sec);
		e->exe_ctime_nsec = BPF_CORE_READ(ino, i_ctime_nsec);
		e->exe_mtime_sec = BPF_CORE_READ(ino, i_mtime_sec);
		e->exe_mtime_nsec = BPF_CORE_READ(ino, i_mtime_nsec);
		return;
	}
	struct inode___v66 *i66 = (void *)ino;
	struct inode___v510 *i510 = (void *)ino;
	if (bpf_core_field_exists(i66->__i_ctime))
		c = BPF_CORE_READ(i66, __i_ctime);
	else
		c = BPF_CORE_READ(i510, i_ctime);
	if (bpf_core_field_exists(i66->__i_mtime))
		m = BPF_CORE_READ(i66, __i_mtime);
	else
		m = BPF_CORE_READ(i510, i_mtime);
	e->exe_ctime_sec = c.tv_sec;
	e->exe_ctime_nsec = c.tv_nsec;
	e->exe_mtime_sec = m.tv_sec;
	e->exe_mtime_nsec = m.tv_nsec;
}

__noinline int handle_file(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	return do_handle_file(scratch_cur(), id, set, dims, capture, 0);
}

/* The static copy gets the scratch from sys_exit (see path_known_s). */
static __noinline int handle_file_s(struct falcoc_scratch *s, __u32 id, __u32 set, __u32 dims,
				    __u32 capture)
{
	return do_handle_file(s, id, set, dims, capture, FL_STATIC);
}

#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define SB_RDONLY 1
#define S_IMMUTABLE 8 /* inode->i_flags */
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFLNK 0120000
#define CAP_DAC_OVERRIDE 1
#define CAP_FOWNER 3
#define UID_GID_MAP_BASE_EXTENTS 5
#define GROUP_SEARCH_STEPS 17 /* a binary search of NGROUPS_MAX (65536) groups */

/* id_mapped reports whether kernel id id (a uid or gid) has a value in
 * user namespace map m: one of its extents covers it. Namespaces with
 * more extents than the base array holds count as unmapped. */
static __always_inline int id_mapped(struct uid_gid_map *m, __u32 id)
{
	__u32 n = BPF_CORE_READ(m, nr_extents);
	const __u8 *ext = (const __u8 *)m + bpf_core_field_offset(struct uid_gid_map, extent);
	for (__u32 i = 0; i < UID_GID_MAP_BASE_EXTENTS; i++) {
		if (i >= n)
			break;
		__u32 e[3] = {}; /* first, lower_first, count */
		bpf_probe_read_kernel(e, sizeof(e), ext + i * sizeof(e));
		if (id >= e[1] && id - e[1] < e[2])
			return 1;
	}
	return 0;
}

/* in_groups reports whether gid is one of the credentials' supplementary
 * groups (a sorted array, as groups_search assumes). */
static __always_inline int in_groups(const struct cred *cr, __u32 gid)
{
	struct group_info *gi = BPF_CORE_READ(cr, group_info);
	if (!gi)
		return 0;
	__u32 lo = 0, hi = BPF_CORE_READ(gi, ngroups);
	const __u8 *arr = (const __u8 *)gi + bpf_core_field_offset(struct group_info, gid);
	for (int i = 0; i < GROUP_SEARCH_STEPS && lo < hi; i++) {
		__u32 mid = lo + (hi - lo) / 2, g = 0;
		bpf_probe_read_kernel(&g, sizeof(g), arr + (__u64)mid * 4);
		if (g == gid)
			return 1;
		if (g < gid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* exe_writable reports whether the current task's credentials may write
 * its executable, as the kernel's permission checks would decide on a
 * plain inode (ACLs and security modules aside): not on a read-only file
 * system nor immutable; the owner may (it can change the mode); then the
 * mode bits of owner, group (primary or supplementary) or others; then
 * CAP_DAC_OVERRIDE, or CAP_FOWNER, where the ids are mapped in the task's
 * user namespace. */
static __always_inline int exe_writable(struct task_struct *t, struct inode *ino)
{
	__u32 mode = BPF_CORE_READ(ino, i_mode);
	__u32 fmt = mode & S_IFMT;
	if ((BPF_CORE_READ(ino, i_sb, s_flags) & SB_RDONLY) &&
	    (fmt == S_IFREG || fmt == S_IFDIR || fmt == S_IFLNK))
		return 0;
	if (BPF_CORE_READ(ino, i_flags) & S_IMMUTABLE)
		return 0;
	__u32 uid = BPF_CORE_READ(ino, i_uid.val), gid = BPF_CORE_READ(ino, i_gid.val);
	if (uid == (__u32)-1 || gid == (__u32)-1)
		return 0;
	const struct cred *cr = BPF_CORE_READ(t, cred);
	__u32 fsuid = BPF_CORE_READ(cr, fsuid.val), fsgid = BPF_CORE_READ(cr, fsgid.val);
	if (fsuid == uid)
		return 1;
	__u32 bits = mode;
	if (fsgid == gid || in_groups(cr, gid))
		bits >>= 3;
	if (bits & 2) /* S_IWOTH, shifted */
		return 1;
	__u64 caps = 0;
	bpf_core_read(&caps, 8, &cr->cap_effective); /* see add_exec_info */
	if (!(caps & ((1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER))))
		return 0;
	struct user_namespace *ns = BPF_CORE_READ(cr, user_ns);
	if (!ns)
		return 0;
	int uid_ok = id_mapped(__builtin_preserve_access_index(&ns->uid_map), uid);
	if ((caps & (1ULL << CAP_DAC_OVERRIDE)) && uid_ok &&
	    id_mapped(__builtin_preserve_access_index(&ns->gid_map), gid))
		return 1;
	return (caps & (1ULL << CAP_FOWNER)) && uid_ok;
}

/* exe_layer tells where an executable on overlayfs lives: the overlay
 * inode is followed by the upper layer's dentry in struct ovl_inode (on
 * every kernel from 5.10 to 7.x; the module's own types are not in
 * vmlinux's BTF, so the inode's size, relocated, finds it). A positive
 * upper dentry means the upper layer, none the lower. 0 off overlayfs. */
static __always_inline __u32 exe_layer(struct file *exe)
{
	struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
	if (BPF_CORE_READ(d, d_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	struct dentry *upper = 0;
	bpf_probe_read_kernel(&upper, sizeof(upper), (__u8 *)ino + bpf_core_type_size(struct inode));
	if (upper && BPF_CORE_READ(upper, d_inode, i_ino) != 0)
		return FALCOC_EXEC_UPPER;
	return FALCOC_EXEC_LOWER;
}

/* do_exe_flags leaves the current task's executable flags (writable,
 * overlay layer) at EXE_FLAGS in the scratch, for add_exec_info. */
static __always_inline int do_exe_flags(void)
{
	struct falcoc_scratch *s = scratch_cur();
	if (!s)
		return 0;
	struct task_struct *t = (void *)bpf_get_current_task();
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	__u32 f = 0;
	if (exe) {
		if (exe_writable(t, BPF_CORE_READ(exe, f_inode)))
			f |= FALCOC_EXEC_WRITABLE;
		f |= exe_layer(exe);
	}
	*(__u32 *)(s->buf + EXE_FLAGS) = f;
	return 0;
}

__noinline int exe_flags(void)
{
	return do_exe_flags();
}

static __noinline int exe_flags_s(void)
{
	return do_exe_flags();
}

static __always_inline void add_exec_info(struct falcoc_scratch *s, struct task_struct *t)
{
	struct falcoc_exec *e = (void *)item_at(s, FALCOC_ITEM_EXEC, sizeof(struct falcoc_exec));
	/* kernel_cap_t is a u64 from 6.3, two u32 before (low word first):
	 * the same 8 bytes either way, read whole at the field's offset. */
	const struct cred *cr = BPF_CORE_READ(t, cred);
	bpf_core_read(&e->cap_effective, 8, &cr->cap_effective);
	bpf_core_read(&e->cap_permitted, 8, &cr->cap_permitted);
	bpf_core_read(&e->cap_inheritable, 8, &cr->cap_inheritable);
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	inode_times(ino, e);
	e->flags = *(__u32 *)(s->buf + EXE_FLAGS);
	char name[8] = {};
	const unsigned char *np = BPF_CORE_READ(exe, f_path.dentry, d_name.name);
	bpf_probe_read_kernel(name, 6, np);
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' &&
	    name[5] == ':')
		e->flags |= FALCOC_EXEC_MEMFD;
	e->tty = 0;
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (tty) {
		int idx = BPF_CORE_READ(tty, index);
		int major = BPF_CORE_READ(tty, driver, major);
		int minor = BPF_CORE_READ(tty, driver, minor_start);
		e->tty = ((__u32)major << 20) | (__u32)(minor + idx);
	}
	item_commit(s, sizeof(struct falcoc_exec));
}

/* handle_exec: execve and execveat. On success the new program's path
 * comes from sched_process_exec (the old user memory is gone); on failure
 * from the filename argument. */
/* The spare end of the scratch (records never reach it: see item_at)
 * where a resolved path is assembled, backwards from DPATH_END. */
#define DPATH_BASE 0x7000
#define DPATH_END 0x7eff /* 256 spare bytes above: the verifier sees every read fit */
#define DPATH_COMPONENTS 40

/* The walk of exe_dpath, one dentry (or mount crossing) per bpf_loop step,
 * so that the verifier checks the step once (as a bounded loop its paths
 * multiply past the verifier's limit). The step reads the kernel by field
 * offsets the caller resolved (CO-RE relocations are not applied inside a
 * bpf_loop callback by the loader). */
struct dpath_walk {
	struct falcoc_scratch *s;
	__u64 d, root_d, vm, root_m, mnt;
	__u32 pos;
	int state; /* DPATH_RUNNING, DPATH_DONE or DPATH_FAILED */
	/* field offsets */
	__u32 mnt_root, mnt_parent, mnt_mountpoint, mnt_mnt, d_parent, d_len, d_name;
};

#define DPATH_RUNNING 0
#define DPATH_DONE 1
#define DPATH_FAILED 2

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), (void *)addr);
	return v;
}

static long dpath_step(__u32 i, void *arg)
{
	struct dpath_walk *w = arg;
	struct falcoc_scratch *s = w->s;
	if (!s) {
		w->state = DPATH_FAILED;
		return 1;
	}
	__u64 d = w->d;
	if (d == w->root_d && w->vm == w->root_m) {
		w->state = DPATH_DONE;
		return 1;
	}
	if (d == read_ptr(w->vm + w->mnt_root)) {
		__u64 parent = read_ptr(w->mnt + w->mnt_parent);
		if (parent == w->mnt) { /* the root of the mount tree */
			w->state = DPATH_DONE;
			return 1;
		}
		w->d = read_ptr(w->mnt + w->mnt_mountpoint);
		w->mnt = parent;
		w->vm = parent + w->mnt_mnt;
		return 0;
	}
	__u64 pd = read_ptr(d + w->d_parent);
	__u32 len = 0;
	bpf_probe_read_kernel(&len, sizeof(len), (void *)(d + w->d_len));
	__u32 pos = w->pos;
	if (len > 255 || pos < DPATH_BASE + len + 1 || pos > DPATH_END) {
		w->state = DPATH_FAILED;
		return 1;
	}
	pos -= len;
	if (pos > DPATH_END) /* never: bounds for the verifier */
		return 1;
	bpf_probe_read_kernel(s->buf + pos, len, (void *)read_ptr(d + w->d_name));
	pos -= 1;
	if (pos > DPATH_END)
		return 1;
	s->buf[pos] = '/';
	w->pos = pos;
	if (pd == d) { /* a pseudo file's dentry (memfd) is its own parent */
		w->state = DPATH_DONE;
		return 1;
	}
	w->d = pd;
	return 0;
}

/* exe_dpath builds, in the scratch's spare area, the path of the current
 * task's executable as its root sees it: the dentries up to the task's
 * root, crossing mounts (what d_path gives, so what /proc/PID/exe shows).
 * A memfd is "/memfd:NAME (deleted)", as the kernel shows it. Returns the
 * offset of the path (NUL-terminated at DPATH_END), or 0 when it does not
 * fit or is deeper than DPATH_COMPONENTS. */
static __always_inline __u32 exe_dpath(struct falcoc_scratch *s, struct task_struct *t, int memfd)
{
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	if (!exe)
		return 0;
	struct vfsmount *vm = BPF_CORE_READ(exe, f_path.mnt);
	struct dpath_walk w = {
		.s = s,
		.d = (__u64)BPF_CORE_READ(exe, f_path.dentry),
		.vm = (__u64)vm,
		.root_d = (__u64)BPF_CORE_READ(t, fs, root.dentry),
		.root_m = (__u64)BPF_CORE_READ(t, fs, root.mnt),
		.mnt = (__u64)vm - bpf_core_field_offset(struct mount, mnt), /* container_of */
		.pos = DPATH_END,
		.mnt_root = bpf_core_field_offset(struct vfsmount, mnt_root),
		.mnt_parent = bpf_core_field_offset(struct mount, mnt_parent),
		.mnt_mountpoint = bpf_core_field_offset(struct mount, mnt_mountpoint),
		.mnt_mnt = bpf_core_field_offset(struct mount, mnt),
		.d_parent = bpf_core_field_offset(struct dentry, d_parent),
		.d_len = bpf_core_field_offset(struct dentry, d_name.len),
		.d_name = bpf_core_field_offset(struct dentry, d_name.name),
	};
	s->buf[DPATH_END] = 0;
	if (memfd) {
		/* " (deleted)", stored as immediates (a static array would put an
		 * untyped symbol into .rodata, beside the feature flags) */
		__u8 *d = s->buf + DPATH_END - 10;
		*(__u64 *)d = 0x6574656c65642820ULL; /* " (delete" */
		*(__u16 *)(d + 8) = 0x2964;           /* "d)" */
		w.pos -= 10;
	}
	bpf_loop(DPATH_COMPONENTS, dpath_step, &w, 0);
	if (w.state != DPATH_DONE)
		return 0;
	__u32 pos = w.pos;
	if (pos == DPATH_END) { /* the root itself */
		pos -= 1;
		s->buf[pos] = '/';
	}
	return pos;
}

/* do_handle_exec is handle_exec, with the executable's path resolved
 * (bpf_loop, 5.17) or not: then proc.exepath is the filename execve was
 * given, and the exe dimension, whose tables hold resolved paths, counts
 * it as unknown. */
static __always_inline int do_handle_exec(__u32 id, __u32 set, __u32 dims, __u32 capture,
					  const int fl)
{
	const int resolve = fl & FL_LOOP;
	struct falcoc_scratch *s = scratch_cur();
	if (!s)
		return DROP;
	struct falcoc_hdr *h = hdr_of(s);
	struct falcoc_mask *m = mask_at(s); /* narrowed in place */
	__u32 tid = bpf_get_current_pid_tgid();
	long elen = -1;
	/* The exe dimension's key is built in the scratch's spare area. */
	struct falcoc_path_key *ek = key_at(s, EXE_KEY);
	if (!ek)
		return DROP;
	int ok = h->ret == 0;
	struct falcoc_path_key *fk = 0; /* the filename execve was given */
	__u32 dpos = 0;
	if (ok) {
		/* proc.exepath is the resolved path: the exe dimension judges it. */
		fk = bpf_map_lookup_elem(&exec_stash, &tid);
		if (resolve) {
			struct task_struct *t = (void *)bpf_get_current_task();
			char name[8] = {};
			const unsigned char *np = BPF_CORE_READ(t, mm, exe_file, f_path.dentry, d_name.name);
			bpf_probe_read_kernel(name, 6, np);
			int memfd = name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' &&
				    name[4] == 'd' && name[5] == ':';
			dpos = exe_dpath(s, t, memfd);
			if (dpos >= DPATH_BASE && dpos < DPATH_END && DPATH_END - dpos <= FALCOC_PATH_MAX) {
				__u64 n = DPATH_END - dpos + 1; /* with the NUL */
				asm volatile("%0 &= 0xff" : "+r"(n)); /* a bound the verifier sees */
				bpf_probe_read_kernel(ek->path, n, s->buf + (dpos & 0x7eff));
				elen = lpm_prepare(s, EXE_KEY, set, n, fl);
			}
		}
	} else {
		long n = bpf_probe_read_user_str(ek->path, sizeof(ek->path),
						 uptr(h, id == 59 ? h->args[0] : h->args[1]));
		elen = lpm_prepare(s, EXE_KEY, set, n, fl);
	}
	if (elen < 0)
		h->flags |= FALCOC_F_EXE_UNKNOWN;
	if (dims & FALCOC_DIM_EXE) {
		if (elen < 0)
			and_slot(m, set, FALCOC_SLOT_EXE_UNKNOWN);
		else
			and_value(m, bpf_map_lookup_elem(&exe_tbl, ek), set, FALCOC_SLOT_EXE_DEFAULT);
		if (mask_zero(m) && !capture) {
			if (ok)
				bpf_map_delete_elem(&exec_stash, &tid);
			return DROP;
		}
	}
	if (!ok) {
		if (elen >= 0)
			add_kernel_bytes(s, FALCOC_ITEM_EXE, ek->path, elen);
		return PASS;
	}
	/* sched_process_exec left the string's size (NUL included) in
	 * prefixlen. */
	if (fk && fk->prefixlen > 1 && fk->prefixlen <= sizeof(fk->path))
		add_kernel_bytes(s, FALCOC_ITEM_EXE, fk->path, (fk->prefixlen - 1) & 0xff);
	if (dpos >= DPATH_BASE && dpos < DPATH_END) {
		__u64 plen = DPATH_END - dpos;
		asm volatile("%0 &= 0xfff" : "+r"(plen)); /* a bound the verifier sees */
		add_kernel_bytes(s, FALCOC_ITEM_EXEPATH, s->buf + (dpos & 0x7eff), plen);
	}
	bpf_map_delete_elem(&exec_stash, &tid);
	struct task_struct *t = (void *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 as = BPF_CORE_READ(mm, arg_start), ae = BPF_CORE_READ(mm, arg_end);
	__u64 es = BPF_CORE_READ(mm, env_start), ee = BPF_CORE_READ(mm, env_end);
	if (ae > as && add_user_bytes(s, FALCOC_ITEM_ARGV, (void *)as, ae - as))
		h->flags |= FALCOC_F_ARGV_TRUNCATED;
	if (ee > es && add_user_bytes(s, FALCOC_ITEM_ENV, (void *)es, ee - es))
		h->flags |= FALCOC_F_ENV_TRUNCATED;
	add_exec_info(s, t);
	return PASS;
}

/* sockaddr_key extracts family and port (host order) from a raw sockaddr. */
static __always_inline int sockaddr_key(const __u8 *sa, __u32 len, __u16 *fam, __u16 *port)
{
	if (len < 2)
		return 0;
	*fam = sa[0] | (sa[1] << 8);
	*port = 0;
	if (*fam == AF_INET || *fam == AF_INET6) {
		if (len < 4)
			return 0;
		*port = (sa[2] << 8) | sa[3];
	}
	return 1;
}

/* socket_of returns the struct sock behind file descriptor fd, or 0. */
static __always_inline struct sock *socket_of(struct task_struct *t, __u64 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd >= max || fd > 1 << 20)
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *so = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(so, sk);
}

/* add_sock_addr appends a sockaddr built from sk: local or peer side. */
static __always_inline void add_sock_addr(struct falcoc_scratch *s, __u16 type, struct sock *sk,
					  int peer)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam != AF_INET && fam != AF_INET6)
		return;
	__u32 len = fam == AF_INET ? 16 : 28;
	__u8 *d = item_at(s, type, len);
	__builtin_memset(d, 0, 28);
	*(__u16 *)d = fam;
	if (peer) {
		*(__u16 *)(d + 2) = BPF_CORE_READ(sk, __sk_common.skc_dport);
	} else {
		__u16 p = BPF_CORE_READ(sk, __sk_common.skc_num);
		*(__u16 *)(d + 2) = __builtin_bswap16(p);
	}
	if (fam == AF_INET) {
		if (peer)
			*(__u32 *)(d + 4) = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		else
			*(__u32 *)(d + 4) = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	} else {
		if (peer)
			BPF_CORE_READ_INTO((struct in6_addr *)(d + 8), sk, __sk_common.skc_v6_daddr);
		else
			BPF_CORE_READ_INTO((struct in6_addr *)(d + 8), sk,
					   __sk_common.skc_v6_rcv_saddr);
	}
	item_commit(s, len);
}

/* Socket classes of sendto and sendmsg (plan.SockClassKey): the family
 * of a socket table key with its high bit set. */
#define SOCK_CLASS_OTHER 0x8000
#define SOCK_CLASS_UNIX 0x8001
#define SOCK_CLASS_INET 0x8002

/* handle_sock: connect, bind, listen, accept, accept4, sendto, sendmsg. */
static __always_inline int do_handle_sock(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	struct falcoc_scratch *s = scratch_cur();
	if (!s)
		return DROP;
	struct falcoc_hdr *h = hdr_of(s);
	struct falcoc_mask *m = mask_at(s); /* narrowed in place */
	__u64 uaddr = 0, ulen = 0;
	int accept = id == 43 || id == 288;
	if (id == 42 || id == 49) { /* connect, bind */
		uaddr = h->args[1];
		ulen = h->args[2];
	} else if (id == 44) { /* sendto */
		uaddr = h->args[4];
		ulen = h->args[5];
	} else if (accept) {
		int l = 0;
		uaddr = h->args[1];
		if (uaddr)
			bpf_probe_read_user(&l, sizeof(l), uptr(h, h->args[2]));
		ulen = l;
	} else if (id == 46 && !(h->flags & FALCOC_F_COMPAT)) { /* sendmsg (a 32-bit msghdr differs) */
		struct user_msghdr mh = {};
		bpf_probe_read_user(&mh, sizeof(mh), (void *)h->args[1]);
		uaddr = (__u64)mh.msg_name;
		ulen = mh.msg_namelen;
	}
	if (ulen > FALCOC_SOCKADDR_MAX)
		ulen = FALCOC_SOCKADDR_MAX;
	__u16 fam = 0, port = 0;
	int known = 0;
	if (uaddr && ulen >= 2) {
		__u8 *d = item_at(s, FALCOC_ITEM_SOCKADDR, ulen);
		if (bpf_probe_read_user(d, ulen & 0xff, uptr(h, uaddr)) == 0) {
			known = sockaddr_key(d, ulen, &fam, &port);
			item_commit(s, ulen);
		}
	}
	if (id == 50 && (__s64)h->args[0] >= 0) { /* listen: the bound address */
		struct task_struct *t = (void *)bpf_get_current_task();
		struct sock *sk = socket_of(t, h->args[0]);
		if (sk) {
			fam = BPF_CORE_READ(sk, __sk_common.skc_family);
			port = 0;
			if (fam == AF_INET || fam == AF_INET6)
				port = BPF_CORE_READ(sk, __sk_common.skc_num);
			known = 1;
		}
	}
	if (!known)
		h->flags |= FALCOC_F_SOCK_UNKNOWN;
	if ((id == 44 || id == 46) && (dims & FALCOC_DIM_SOCK)) {
		/* sendto, sendmsg: judged by the socket's class, not the
		 * address (plan.SockClassKey): userspace reads the descriptor's
		 * entry, which these calls do not change. */
		known = 0;
		struct task_struct *t = (void *)bpf_get_current_task();
		struct sock *sk = (__s64)h->args[0] >= 0 ? socket_of(t, h->args[0]) : 0;
		if (sk) {
			__u16 f = BPF_CORE_READ(sk, __sk_common.skc_family);
			__u16 ty = BPF_CORE_READ(sk, sk_type), pr = BPF_CORE_READ(sk, sk_protocol);
			port = 0;
			if (f == AF_INET || f == AF_INET6) {
				fam = SOCK_CLASS_INET;
				if (ty == 1 && pr == 6)
					port = 6; /* TCP */
				else if (ty == 2 && pr == 17) /* UDP; connected: TCP_ESTABLISHED */
					port = BPF_CORE_READ(sk, __sk_common.skc_state) == 1 ? 18 : 17;
			} else {
				fam = f == AF_UNIX ? SOCK_CLASS_UNIX : SOCK_CLASS_OTHER;
			}
			known = 1;
		}
	}
	if (dims & FALCOC_DIM_SOCK) {
		if (!known) {
			and_slot(m, set, FALCOC_SLOT_SOCK_UNKNOWN);
		} else {
			struct falcoc_sock_key k = {.set = set, .family = fam, .port = port};
			struct falcoc_mask *v = bpf_map_lookup_elem(&sock_tbl, &k);
			if (!v) {
				k.port = 0;
				k.any = 1;
				v = bpf_map_lookup_elem(&sock_tbl, &k);
			}
			and_value(m, v, set, FALCOC_SLOT_SOCK_DEFAULT);
		}
		if (mask_zero(m) && !capture)
			return DROP;
	}
	/* A connect that failed (not EINPROGRESS) changes nothing userspace
	 * holds (runtime/state applies one that succeeded or is in
	 * progress): dropped in full mode when no rule's clause survived. */
	if (id == 42 && h->ret < 0 && h->ret != -115 && mask_zero(m) && falcoc_mode == FALCOC_MODE_FULL)
		return DROP;
	if (id == 44 || id == 46)
		return PASS;
	__s64 fd = accept ? h->ret : (__s64)h->args[0];
	if (fd < 0)
		return PASS;
	struct task_struct *t = (void *)bpf_get_current_task();
	struct sock *sk = socket_of(t, fd);
	if (!sk)
		return PASS;
	add_sock_addr(s, FALCOC_ITEM_LOCALADDR, sk, 0);
	/* accept with a NULL address: the peer comes from the socket. */
	if (accept && !known)
		add_sock_addr(s, FALCOC_ITEM_SOCKADDR, sk, 1);
	return PASS;
}

/* The current task's 32-bit flag, comm and euid: by plain loads through
 * the task's BTF pointer where the kernel has bpf_get_current_task_btf
 * (no helper calls on the hot path), else through probe reads. */
static __always_inline int current_compat(void)
{
	if (falcoc_has_task_btf) {
		struct task_struct *t = bpf_get_current_task_btf();
		return t->thread_info.status & TS_COMPAT;
	}
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, thread_info.status) & TS_COMPAT;
}

static __always_inline void current_comm(char *comm)
{
	if (falcoc_has_task_btf) {
		__u64 cw[2];
		comm_words(bpf_get_current_task_btf(), cw);
		__builtin_memcpy(comm, cw, sizeof(cw)); /* a key's comm is 4-aligned */
		return;
	}
	bpf_get_current_comm(comm, 16);
}

static __always_inline __u32 current_euid(void)
{
	if (falcoc_has_task_btf)
		return bpf_get_current_task_btf()->cred->euid.val;
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, cred, euid.val);
}

/* The id of the current task's cgroup v2, as bpf_get_current_cgroup_id
 * gives it (the kernfs node id of the default hierarchy's cgroup). */
static __always_inline __u64 current_cgroup_id(void)
{
	if (falcoc_has_task_btf)
		return bpf_get_current_task_btf()->cgroups->dfl_cgrp->kn->id;
	return bpf_get_current_cgroup_id();
}

__noinline int handle_exec(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	return do_handle_exec(id, set, dims, capture, FL_LOOP);
}

__noinline int handle_exec_noloop(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	return do_handle_exec(id, set, dims, capture, 0);
}

static __noinline int handle_exec_s(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	return do_handle_exec(id, set, dims, capture, FL_LOOP | FL_STATIC);
}

__noinline int handle_sock(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	return do_handle_sock(id, set, dims, capture);
}

static __noinline int handle_sock_s(__u32 id, __u32 set, __u32 dims, __u32 capture)
{
	return do_handle_sock(id, set, dims, capture);
}

static __always_inline struct falcoc_counters *counters_of(__u32 kind)
{
	return bpf_map_lookup_elem(&counters, &kind);
}

/* and_task_dims narrows m by the dimensions of the task (TASK_DIMS: its
 * comm, euid and container) in dims; DROP when nothing is left and the
 * event is not captured anyway.
 *
 * A path syscall judges them after its path (the path read, its trie and
 * the suffix trie): for Falco-shaped rules the path is what rules out most
 * opens (an ordinary file), while the task dimensions mostly pass them
 * (rules say "not proc.name in (...)", "container.id != host"): on the
 * open+close loop this skips a comm hash lookup and a cgroup lookup per
 * open. The mask is the same AND either way. */
static __noinline int and_task_dims(struct falcoc_mask *m, __u32 set, __u32 dims, __u32 capture)
{
	if (dims & FALCOC_DIM_COMM) {
		struct falcoc_comm_key k = {.set = set};
		current_comm(k.comm);
		and_value(m, bpf_map_lookup_elem(&comm_tbl, &k), set, FALCOC_SLOT_COMM_DEFAULT);
		if (mask_zero(m) && !capture)
			return DROP;
	}
	if (dims & FALCOC_DIM_UID) {
		struct falcoc_uid_key k = {.set = set, .uid = current_euid()};
		and_value(m, bpf_map_lookup_elem(&uid_tbl, &k), set, FALCOC_SLOT_UID_DEFAULT);
		if (mask_zero(m) && !capture)
			return DROP;
	}
	if (dims & FALCOC_DIM_CONTAINER) {
		__u64 cg = current_cgroup_id();
		__u32 *cls = bpf_map_lookup_elem(&cgroups, &cg);
		__u32 slot = FALCOC_SLOT_CONTAINER_UNKNOWN;
		if (cls)
			slot = *cls == FALCOC_CGROUP_HOST ? FALCOC_SLOT_CONTAINER_HOST
							  : FALCOC_SLOT_CONTAINER_CONTAINER;
		and_slot(m, set, slot);
		if (mask_zero(m) && !capture)
			return DROP;
	}
	return PASS;
}

/* unwatched reports, and counts, a syscall no rule watches: it costs
 * this one lookup, unless its number means a watched syscall for a 32-bit
 * caller (FALCOC_GATE_IA32). */
static __always_inline int unwatched(struct falcoc_gate *g, __u32 id)
{
	if (g->flags) /* FALCOC_GATE_MASK: the mask is not zero */
		return 0;
	struct falcoc_counters *c0 = counters_of(id);
	if (c0)
		c0->calls++;
	return 1;
}

/* gate_unwatched is unwatched for the syscall of regs. */
static __always_inline int gate_unwatched(struct pt_regs *regs)
{
	__u64 id64 = regs->orig_ax;
	if (id64 >= FALCOC_NR_SYSCALLS)
		return 1;
	__u32 gi = (falcoc_set & 1) * FALCOC_NR_SYSCALLS + (__u32)id64;
	struct falcoc_gate *g = bpf_map_lookup_elem(&gate, &gi);
	return !g || unwatched(g, id64);
}

/* sys_arg is syscall argument i, read from the registers when needed (a
 * copy of all six would hold 48 bytes of the stack through every call).
 * A 32-bit syscall is judged as the x86_64 syscall it means, with its
 * arguments from the 32-bit registers, sign-extended: fds and AT_FDCWD
 * keep their value; user pointers are cut back to 32 bits where they are
 * read (see uptr). */
static __always_inline __u64 sys_arg(struct pt_regs *regs, int compat, int i)
{
	if (compat) {
		switch (i) {
		case 0: return (__s64)(__s32)regs->bx;
		case 1: return (__s64)(__s32)regs->cx;
		case 2: return (__s64)(__s32)regs->dx;
		case 3: return (__s64)(__s32)regs->si;
		case 4: return (__s64)(__s32)regs->di;
		default: return (__s64)(__s32)regs->bp;
		}
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	default: return regs->r9;
	}
}

/* is_fork reports clone, fork, vfork and clone3. */
static __always_inline int is_fork(__u32 id)
{
	return id == 56 || id == 57 || id == 58 || id == 435;
}

/* redundant reports whether the return of a fork (clone, fork, vfork,
 * clone3) with value ret is one userspace does not need, in full mode
 * (see fork_sent); mz: no rule looks at it. The parent's is never read,
 * the fork record is its clone event; the child's, when its fork record
 * told all it would (the child is then forgotten). Global (verified once)
 * and static (for the preempt-disabled flavour) copies. */
static __always_inline int do_redundant(__u32 id, __s64 ret, int mz)
{
	if (falcoc_keep_lifecycle || ret < 0)
		return 0;
	if (ret > 0)
		return 1;
	if (!mz)
		return 0;
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 *st = bpf_map_lookup_elem(&fork_sent, &tid);
	if (!st)
		return 0;
	__u64 want = *st;
	bpf_map_delete_elem(&fork_sent, &tid);
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, start_time) == want;
}

__noinline int redundant(__u32 id, __s64 ret, int mz)
{
	return do_redundant(id, ret, mz);
}

static __noinline int redundant_s(__u32 id, __s64 ret, int mz)
{
	return do_redundant(id, ret, mz);
}

/* sys_exit is the body of the sys_exit programs, in flavour fl (see
 * FL_LOOP: a kernel without bpf_loop, before 5.17, refuses even the
 * callback's address before 5.13, in a program that never runs it). */
static __always_inline int sys_exit(struct pt_regs *regs, long ret, const int fl)
{
	__u64 id64 = regs->orig_ax;
	if (id64 >= FALCOC_NR_SYSCALLS)
		return 0;
	__u32 id = id64;
	__u32 set = falcoc_set & 1;
	__u32 gi = set * FALCOC_NR_SYSCALLS + id;
	struct falcoc_gate *g = bpf_map_lookup_elem(&gate, &gi);
	if (!g)
		return 0;
	__u32 gflags = g->flags;
	if (!(fl & FL_PREEMPT) && unwatched(g, id)) /* FL_PREEMPT: the caller asked */
		return 0;
	/* A 32-bit syscall is judged as the x86_64 syscall it means. */
	int compat = current_compat();
	if (compat) {
		__s32 *x = bpf_map_lookup_elem(&ia32_ids, &id);
		if (!x || *x < 0 || *x >= FALCOC_NR_SYSCALLS)
			return 0;
		id = *x;
		gi = set * FALCOC_NR_SYSCALLS + id;
		g = bpf_map_lookup_elem(&gate, &gi);
		if (!g)
			return 0;
		gflags = g->flags;
	}
	gflags &= ~FALCOC_GATE_IA32;
	struct falcoc_counters *cnt = counters_of(id);
	if (!cnt)
		return 0;
	cnt->calls++;
	if (!gflags) /* no flag, not even FALCOC_GATE_MASK: a zero mask */
		return 0;
	/* The mask is narrowed in the scratch (it may be wider than the
	 * stack could hold). */
	struct falcoc_scratch *s = scratch_cur();
	if (!s)
		return 0;
	struct falcoc_mask *m = mask_at(s);
	mask_copy(m, &g->mask);
	__u32 mode = falcoc_mode;
	__u32 capture = gflags & FALCOC_GATE_CAPTURE;
	if (mode == FALCOC_MODE_OFF)
		capture = gflags & (FALCOC_GATE_CAPTURE | FALCOC_GATE_CAPTURED);
	if (!capture && mask_zero(m))
		return 0;
	cnt->gate_pass++;
	__u32 dims = mode == FALCOC_MODE_FULL ? g->dims : 0;

	/* Returns from a fork userspace does not need (see redundant). */
	if (mode == FALCOC_MODE_FULL && is_fork(id) &&
	    ((fl & FL_STATIC) ? redundant_s(id, ret, mask_zero(m)) : redundant(id, ret, mask_zero(m))))
		goto drop;

	/* A state event no rule looks at, that changes nothing userspace
	 * holds: dropped before any record is built. */
	if (mode == FALCOC_MODE_FULL && falcoc_fdmarks && (mask_zero(m) || id == 3)) {
		__s64 a0 = sys_arg(regs, compat, 0);
		__u64 a1 = sys_arg(regs, compat, 1);
		if (mask_zero(m) &&
		    ((fl & FL_STATIC) ? state_unchanged_s(id, a0, a1, ret) : state_unchanged(id, a0, a1, ret)))
			goto drop;
	}

	/* The open flags class first: an array lookup, cheaper than the hash
	 * lookups below (openat2 keeps its flags in user memory: its class is
	 * looked up in handle_file). */
	if ((dims & FALCOC_DIM_OPENFLAGS) && id != 437 && is_open(id)) {
		and_openflags(m, set,
			      id == 257 ? sys_arg(regs, compat, 2)
			      : id == 2 ? sys_arg(regs, compat, 1)
					: O_CREAT | O_WRONLY | O_TRUNC);
		if (mask_zero(m) && !capture)
			goto drop;
		dims &= ~FALCOC_DIM_OPENFLAGS;
	}

	/* Dimensions every syscall may have. A path syscall whose rules look
	 * at its path judges the task's in handle_file, after the path. */
	__u32 late = 0;
	if ((dims & (FALCOC_DIM_PATH | FALCOC_DIM_SUFFIX)) && class_of(id) == CLS_FILE)
		late = dims & TASK_DIMS;
	if ((dims & ~late & TASK_DIMS) && and_task_dims(m, set, dims & ~late, capture) == DROP)
		goto drop;
	if (dims & FALCOC_DIM_PTRACE) {
		struct falcoc_ptrace_key k = {.set = set, .request = sys_arg(regs, compat, 0)};
		and_value(m, bpf_map_lookup_elem(&ptrace_tbl, &k), set, FALCOC_SLOT_PTRACE_DEFAULT);
		if (mask_zero(m) && !capture)
			goto drop;
	}

	struct falcoc_hdr *h = record_start(s);
	if (compat)
		h->flags |= FALCOC_F_COMPAT;
	__u64 *a = h->args;
	for (int i = 0; i < 6; i++)
		a[i] = sys_arg(regs, compat, i);
	h->ret = ret;

	/* pipe, pipe2, socketpair: the two descriptors they wrote. */
	if (ret == 0 && (id == 22 || id == 293 || id == 53)) {
		__u8 *d = item_at(s, FALCOC_ITEM_FDPAIR, 8);
		if (bpf_probe_read_user(d, 8, uptr(h, id == 53 ? a[3] : a[0])) == 0)
			item_commit(s, 8);
	}
	/* prctl(PR_SET_NAME, name): the name, carried as a path item. */
	if (id == 157 && a[0] == 15 && ret == 0)
		add_user_str(s, FALCOC_ITEM_PATH, uptr(h, a[1]));

	int r = PASS;
	switch (class_of(id)) {
	case CLS_FILE:
		if (fl & FL_STATIC)
			r = handle_file_s(s, id, set, dims, capture);
		else
			r = handle_file(id, set, dims, capture);
		break;
	case CLS_EXEC:
		if (ret == 0) {
			if (fl & FL_STATIC)
				exe_flags_s();
			else
				exe_flags();
		}
		if (fl & FL_STATIC)
			r = handle_exec_s(id, set, dims, capture);
		else if (fl & FL_LOOP)
			r = handle_exec(id, set, dims, capture);
		else
			r = handle_exec_noloop(id, set, dims, capture);
		break;
	case CLS_SOCK:
		if (fl & FL_STATIC)
			r = handle_sock_s(id, set, dims, capture);
		else
			r = handle_sock(id, set, dims, capture);
		break;
	}
	if (r == DROP)
		goto drop;
	mask_out(s);
	if (fl & FL_PREEMPT) {
		/* What the calls below need goes through the scratch, and the
		 * result of marks_begin_s waits there: the verifier then walks
		 * them once, not once per state the handlers leave. */
		*(volatile __u32 *)(s->buf + MARKS_SLOT + 4) = (compat << 17) | id;
		*(volatile __u32 *)(s->buf + MARKS_SLOT + 8) = capture;
		__u32 idc = *(volatile __u32 *)(s->buf + MARKS_SLOT + 4) & 0x2ffff;
		__u32 cap = *(volatile __u32 *)(s->buf + MARKS_SLOT + 8);
		if (fl & FL_STATIC) {
			*(volatile __u32 *)(s->buf + MARKS_SLOT + 8) =
				marks_begin_s(idc & 0xffff, h->args[0], h->ret, cap);
			fill_hdr_s(idc & 0xffff);
		} else {
			*(volatile __u32 *)(s->buf + MARKS_SLOT + 8) =
				marks_begin(idc & 0xffff, h->args[0], h->ret, cap);
			fill_hdr(idc & 0xffff);
		}
		__u32 sent = ((__u32)send(s, cnt) & 1) << 16; /* FDMARKS_SENT */
		__u32 held = *(volatile __u32 *)(s->buf + MARKS_SLOT + 8) & (FDMARKS_HELD | FDMARKS_MT);
		/* the caller updates the marks */
		return MARKS_PENDING | held | sent | idc;
	}
	/* The marks update starts before the record is stamped (see
	 * marks_begin); a successful close clears its descriptor's byte. */
	__u32 held = marks_begin(id, a[0], ret, capture) & (FDMARKS_HELD | FDMARKS_MT);
	fill_hdr(id);
	__u32 sent = ((__u32)send(s, cnt) & 1) << 16; /* FDMARKS_SENT */
	fd_marks_sent(id | sent | held, a[0], a[1], ret, pair_ptr(id, compat, a[0], a[3]));
	return 0;

drop:
	cnt->prefilter_drop++;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	return sys_exit(regs, ret, FL_LOOP);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit_noloop, struct pt_regs *regs, long ret)
{
	return sys_exit(regs, ret, 0);
}

/* close_untracked reports whether a successful close of fd changes
 * nothing in userspace's descriptor table (the current process's mark of
 * fd is 0), as state_unchanged does, for state_drop_early: it remembers
 * its last such answer per CPU (close_memo) with the marks' generations
 * it read, and answers again without the lookup while the process and
 * the descriptor are the same and no change of the marks has begun since
 * (a loop that opens and closes the same descriptor, its opens dropped,
 * pays the lookup once). The counts are read, ends first, before the
 * lookup, and the answer is remembered only when as many changes had
 * ended as had begun: every change made before was then complete and is
 * in what the lookup read, and any change made after it begins with an
 * add to a begin count, which the memo compares. Its callers run with
 * this program's per-CPU exclusion (see FL_PREEMPT), so the memo is this
 * run's alone. */
static __always_inline int close_untracked(__s64 fd)
{
	__u32 z = 0;
	struct close_memo *c = bpf_map_lookup_elem(&close_memo, &z);
	__u32 tgid = current_tgid();
	__u64 end = falcoc_marks_end, uend = falcoc_marks_uend;
	__u64 begin = falcoc_marks_begin, ubegin = falcoc_marks_ubegin;
	if (c && c->tgid == tgid && c->fd == fd && c->begin == begin && c->ubegin == ubegin)
		return 1;
	struct fdmark *e = bpf_map_lookup_elem(&fdmarks, &tgid);
	if (!fd_untracked(e, fd))
		return 0;
	if (c && begin == end && ubegin == uend) {
		c->tgid = tgid;
		c->fd = fd;
		c->begin = begin;
		c->ubegin = ubegin;
	}
	return 1;
}

/* state_drop_early is sys_exit's drop of a state event no rule looks at
 * that changes nothing userspace holds (see there), made by the
 * preempt-disabled flavour before it disables preemption, for a 64-bit
 * call (sys_exit maps a 32-bit one): a close of an untracked descriptor,
 * the most common event past the gate, then pays neither the preemption
 * guard nor the rest of sys_exit (a close of a bad descriptor: 140 ns per
 * run against 170 with BPF statistics, 6.18.44). It runs preemptible,
 * as the gate does: on a fully preemptible kernel, a preemption inside
 * it makes the kernel skip the program for the CPU's other tasks until
 * it resumes (counted: Capture.Missed). Counted as sys_exit counts it; the
 * counters need no guard: the kernel does not run this program again on
 * this CPU before this run ends (see FL_PREEMPT), and no other program
 * writes a syscall's counters. */
static __always_inline int state_drop_early(struct pt_regs *regs, long ret)
{
	if (falcoc_mode != FALCOC_MODE_FULL || !falcoc_fdmarks)
		return 0;
	__u64 id64 = regs->orig_ax;
	if (id64 != 3 && id64 != 32 && id64 != 33 && id64 != 292 && id64 != 72)
		return 0;
	__u32 id = id64;
	__u32 gi = (falcoc_set & 1) * FALCOC_NR_SYSCALLS + id;
	struct falcoc_gate *g = bpf_map_lookup_elem(&gate, &gi);
	if (!g || !(g->flags & FALCOC_GATE_CAPTURE) || (g->flags & FALCOC_GATE_MASK) || current_compat())
		return 0;
	struct falcoc_counters *cnt = counters_of(id);
	if (!cnt)
		return 0;
	if (id == 3 && ret == 0 ? !close_untracked(regs->di) : !state_unchanged(id, regs->di, regs->si, ret))
		return 0;
	cnt->calls++;
	cnt->gate_pass++;
	cnt->prefilter_drop++;
	return 1;
}

/* Preemption is disabled only for a syscall some rule watches: the two
 * kfunc calls cost about 35 ns, which every other syscall of the machine
 * would pay (falcoc-bench, getppid, 6.18.44: +139 ns over no agent with
 * them first, +107 ns with the gate first, floor +100 ns). Until then the
 * program touches no shared per-CPU state but its counter. */
static __always_inline int sys_exit_preempt(struct pt_regs *regs, long ret, const int fl)
{
	if (gate_unwatched(regs) || state_drop_early(regs, ret))
		return 0;
	bpf_preempt_disable();
	__u32 r = sys_exit(regs, ret, fl);
	/* Through the scratch, so that the verifier continues with one state
	 * instead of one per value r can have. */
	struct falcoc_scratch *s = scratch_cur();
	if (s) {
		*(volatile __u32 *)(s->buf + MARKS_SLOT) = r;
		r = *(volatile __u32 *)(s->buf + MARKS_SLOT);
	} else {
		r = 0;
	}
	bpf_preempt_enable();
	if (r & MARKS_PENDING) {
		__u32 id = r & 0xffff;
		int compat = (r >> 17) & 1;
		__u64 a0 = sys_arg(regs, compat, 0);
		fd_marks_sent(id | (r & (FDMARKS_SENT | FDMARKS_HELD | FDMARKS_MT)), a0, sys_arg(regs, compat, 1),
			      ret, pair_ptr(id, compat, a0, sys_arg(regs, compat, 3)));
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit_preempt, struct pt_regs *regs, long ret)
{
	return sys_exit_preempt(regs, ret, FL_LOOP | FL_PREEMPT | FL_STATIC);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit_pglobal, struct pt_regs *regs, long ret)
{
	return sys_exit_preempt(regs, ret, FL_LOOP | FL_PREEMPT);
}

static __always_inline struct falcoc_scratch *sched_begin(__u32 kind)
{
	struct falcoc_scratch *s = scratch_get();
	if (!s)
		return 0;
	struct falcoc_hdr *h = hdr_of(s);
	fill_hdr(kind);
	__builtin_memset(&h->mask, 0xff, sizeof(h->mask));
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->ret = 0;
	return s;
}

/* fork_flags returns the clone flags of the fork that task t, the
 * parent and the current task, is making, from its syscall registers: clone's first argument,
 * clone3's clone_args.flags, or what fork and vfork imply. 0 when not
 * known (a kernel thread, another syscall). */
static __always_inline __u64 fork_flags(struct task_struct *t)
{
	if (t->flags & 0x00200000) /* PF_KTHREAD */
		return 0;
	struct pt_regs *r;
	if (falcoc_has_task_pt_regs) {
		r = (struct pt_regs *)bpf_task_pt_regs(t);
	} else {
		/* task_pt_regs on x86_64 before 5.15: the registers sit at the
		 * top of the 16 KiB kernel stack (32 KiB with KASAN, which
		 * distribution kernels leave off; no padding before FRED). */
		void *stack = BPF_CORE_READ(t, stack);
		r = stack ? (struct pt_regs *)(stack + 16384) - 1 : 0;
	}
	if (!r)
		return 0;
	__u64 nr = BPF_CORE_READ(r, orig_ax);
	__u64 a0;
	if (t->thread_info.status & TS_COMPAT) {
		a0 = BPF_CORE_READ(r, bx) & 0xffffffffULL;
		if (nr == 120) /* clone */
			return a0;
		if (nr == 2) /* fork */
			return 17; /* SIGCHLD */
		if (nr == 190) /* vfork */
			return 0x4000 | 0x100 | 17; /* CLONE_VFORK | CLONE_VM | SIGCHLD */
	} else {
		a0 = BPF_CORE_READ(r, di);
		if (nr == 56)
			return a0;
		if (nr == 57)
			return 17;
		if (nr == 58)
			return 0x4000 | 0x100 | 17;
	}
	if (nr == 435) { /* clone3: struct clone_args starts with flags */
		__u64 fl = 0;
		bpf_probe_read_user(&fl, sizeof(fl), (void *)a0);
		return fl;
	}
	return 0;
}

/* fork_ops reads the parent's ops (see fdmarks) before the fork record
 * is stamped; ~0 when the parent has no entry. */
static __always_inline __u64 fork_ops(struct task_struct *parent)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	struct fdmark *pe = bpf_map_lookup_elem(&fdmarks, &ptgid);
	if (!pe)
		return ~0ULL;
	return *(volatile __u64 *)&pe->ops;
}

/* do_fork_marks is fork_marks' copy (see there). */
static __always_inline void do_fork_marks(struct task_struct *parent, struct task_struct *child, __u64 ops,
					  __u32 ctgid, __u32 ptgid)
{
	if (BPF_CORE_READ(child, files) == BPF_CORE_READ(parent, files)) {
		fdmark_new(ptgid, 1);
		fdmark_new(ctgid, 1);
		return;
	}
	struct fdmark *pe = bpf_map_lookup_elem(&fdmarks, &ptgid);
	int single = BPF_CORE_READ(parent, signal, nr_threads) == 1;
	/* ops: ~0 when the parent had no entry then (see fork_ops). */
	if (!pe || (!single && (ops == ~0ULL || (__u32)ops != (__u32)(ops >> 32)))) {
		bpf_map_delete_elem(&fdmarks, &ctgid);
		return;
	}
	bpf_map_update_elem(&fdmarks, &ctgid, pe, BPF_ANY);
	if (!single && *(volatile __u64 *)&pe->ops != ops)
		bpf_map_delete_elem(&fdmarks, &ctgid);
}

/* fork_marks gives a new process the marks of its parent (see fdmarks):
 * ops is what fork_ops read before the record was stamped. The copy is
 * kept when the parent has one thread, or when no update of its entry
 * was in flight then and none started until after the copy. */
static __always_inline void fork_marks(struct task_struct *parent, struct task_struct *child, __u64 ops)
{
	__u32 ctgid = BPF_CORE_READ(child, tgid), ptgid = BPF_CORE_READ(parent, tgid);
	if (ctgid == ptgid)
		return; /* a thread */
	marks_begin_change();
	do_fork_marks(parent, child, ops, ctgid, ptgid);
	marks_end_change();
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_sched_fork, struct task_struct *parent, struct task_struct *child)
{
	struct falcoc_counters *cnt = counters_of(FALCOC_KIND_FORK);
	if (!cnt)
		return 0;
	cnt->calls++;
	__u64 ops = fork_ops(parent);
	struct falcoc_scratch *s = sched_begin(FALCOC_KIND_FORK);
	if (!s)
		return 0;
	struct falcoc_fork *f = (void *)item_at(s, FALCOC_ITEM_FORK, sizeof(struct falcoc_fork));
	f->parent_tid = BPF_CORE_READ(parent, pid);
	f->parent_tgid = BPF_CORE_READ(parent, tgid);
	f->child_tid = BPF_CORE_READ(child, pid);
	f->child_tgid = BPF_CORE_READ(child, tgid);
	f->clone_flags = fork_flags(parent);
	item_commit(s, sizeof(struct falcoc_fork));
	int sent = send(s, cnt);
	fork_marks(parent, child, ops);
	/* See fork_sent: a user task in the initial pid namespace, in its
	 * parent's cgroups (not moved by CLONE_INTO_CGROUP). */
	if (sent && falcoc_mode == FALCOC_MODE_FULL && !falcoc_keep_lifecycle &&
	    !(BPF_CORE_READ(child, flags) & 0x00200000) && /* PF_KTHREAD */
	    BPF_CORE_READ(child, thread_pid, level) == 0 &&
	    BPF_CORE_READ(child, cgroups) == BPF_CORE_READ(parent, cgroups)) {
		__u32 ctid = BPF_CORE_READ(child, pid);
		__u64 st = BPF_CORE_READ(child, start_time);
		bpf_map_update_elem(&fork_sent, &ctid, &st, BPF_ANY);
	}
	return 0;
}

/* exec_always_sent reports whether the current tables send every execve
 * and execveat exit (the state needs them; a 32-bit exec is judged as
 * the x86_64 one it means). */
static __always_inline int exec_always_sent(void)
{
	__u32 set = falcoc_set & 1;
	__u32 i = set * FALCOC_NR_SYSCALLS + 59;
	struct falcoc_gate *g = bpf_map_lookup_elem(&gate, &i);
	if (!g || !(g->flags & FALCOC_GATE_CAPTURE))
		return 0;
	i = set * FALCOC_NR_SYSCALLS + 322;
	g = bpf_map_lookup_elem(&gate, &i);
	return g && (g->flags & FALCOC_GATE_CAPTURE);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct falcoc_counters *cnt = counters_of(FALCOC_KIND_EXEC);
	if (!cnt)
		return 0;
	cnt->calls++;
	struct falcoc_path_key *k = key_at(scratch_cur(), EXE_KEY);
	if (!k)
		return 0;
	const char *fn = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(k->path, sizeof(k->path), fn);
	if (n < 0)
		n = 0;
	k->prefixlen = n; /* the string size, read back by the execve exit */
	__u32 tid = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&exec_stash, &tid, k, BPF_ANY);
	/* The execve exit record carries all of this and more: when the
	 * tables always send both exec syscalls, userspace never reads this
	 * record (runtime/live skips it), so full mode does not build it. */
	if (falcoc_mode == FALCOC_MODE_FULL && !falcoc_keep_lifecycle && exec_always_sent())
		return 0;

	struct falcoc_scratch *s = sched_begin(FALCOC_KIND_EXEC);
	if (!s)
		return 0;
	struct falcoc_exectp *e = (void *)item_at(s, FALCOC_ITEM_EXECTP, sizeof(struct falcoc_exectp));
	e->old_tid = old_pid;
	e->pad = 0;
	item_commit(s, sizeof(struct falcoc_exectp));
	add_kernel_str(s, FALCOC_ITEM_EXE, fn);
	send(s, cnt);
	return 0;
}

/* group_dead is an argument in newer kernels; before, it is read from the
 * process's count of live threads, which do_exit has already decreased. */
SEC("tp_btf/sched_process_exit")
int on_sched_exit(__u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	__u32 group_dead;
	if (falcoc_has_exit_group_dead)
		group_dead = (__u8)ctx[1];
	else
		group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	struct falcoc_counters *cnt = counters_of(FALCOC_KIND_EXIT);
	if (!cnt)
		return 0;
	cnt->calls++;
	struct falcoc_scratch *s = sched_begin(FALCOC_KIND_EXIT);
	if (!s)
		return 0;
	struct falcoc_exit *e = (void *)item_at(s, FALCOC_ITEM_EXIT, sizeof(struct falcoc_exit));
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->group_dead = group_dead;
	item_commit(s, sizeof(struct falcoc_exit));
	send(s, cnt);
	if (group_dead) {
		__u32 tgid = BPF_CORE_READ(p, tgid);
		marks_begin_change();
		bpf_map_delete_elem(&fdmarks, &tgid);
		marks_end_change();
	}
	return 0;
}
