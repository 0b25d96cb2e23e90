/* falcoc kernel/user ABI.
 *
 * Everything the BPF programs share with the Go loader is declared here:
 * the map key and value layouts of the prefilter tables, the counters, and
 * the records written to the ring buffer. The Go side is generated from
 * these declarations by bpf2go (see capture_bpfel.go); abi_test.go checks
 * that the generated types and the decoder's offsets agree with the BTF
 * that clang emitted for them.
 *
 * A record in the ring buffer:
 *
 *   +--------------------------+ 0
 *   | struct falcoc_hdr        |   fixed, 176 bytes (mask: words 0-3)
 *   +--------------------------+ 176
 *   | struct falcoc_item       |   type, len (8 bytes)
 *   | len bytes of payload     |
 *   | zero padding to 8 bytes  |
 *   +--------------------------+
 *   | ... hdr.nitems items ... |
 *   +--------------------------+ hdr.size
 *
 * All integers are little-endian (x86_64 only).
 */
#ifndef FALCOC_ABI_H
#define FALCOC_ABI_H

/* Syscall ids are x86_64 ids below FALCOC_NR_SYSCALLS. The scheduler
 * tracepoints use the kinds below, which are also counter indexes. */
#define FALCOC_NR_SYSCALLS 512
#define FALCOC_KIND_FORK 512
#define FALCOC_KIND_EXEC 513
#define FALCOC_KIND_EXIT 514
#define FALCOC_NR_KINDS 515

/* Prefilter modes (the falcoc_mode global). */
#define FALCOC_MODE_OFF 0     /* every syscall of the captured set is sent */
#define FALCOC_MODE_EVTTYPE 1 /* gate only */
#define FALCOC_MODE_FULL 2    /* gate and dimensions */

/* Dimensions a syscall reads (gate value .dims). */
#define FALCOC_DIM_COMM (1u << 0)
#define FALCOC_DIM_UID (1u << 1)
#define FALCOC_DIM_CONTAINER (1u << 2)
#define FALCOC_DIM_OPENFLAGS (1u << 3)
#define FALCOC_DIM_PATH (1u << 4)
#define FALCOC_DIM_SOCK (1u << 5)
#define FALCOC_DIM_PTRACE (1u << 6)
#define FALCOC_DIM_EXE (1u << 7)
#define FALCOC_DIM_SUFFIX (1u << 8)

/* Gate value flags. */
#define FALCOC_GATE_CAPTURE (1u << 0)  /* always send, even when the mask is zero (state) */
#define FALCOC_GATE_CAPTURED (1u << 1) /* part of the captured set: sent in mode off */
#define FALCOC_GATE_IA32 (1u << 2)     /* as a 32-bit syscall number, this id means a gated syscall */
#define FALCOC_GATE_MASK (1u << 3)     /* the mask is not zero (so that a gated-out syscall reads no mask word) */

/* Slots of the falcoc_dflt array (index = set * FALCOC_NR_SLOTS + slot). */
#define FALCOC_SLOT_COMM_DEFAULT 0
#define FALCOC_SLOT_UID_DEFAULT 1
#define FALCOC_SLOT_CONTAINER_HOST 2
#define FALCOC_SLOT_CONTAINER_CONTAINER 3
#define FALCOC_SLOT_CONTAINER_UNKNOWN 4
#define FALCOC_SLOT_PATH_DEFAULT 5
#define FALCOC_SLOT_PATH_UNKNOWN 6
#define FALCOC_SLOT_SOCK_DEFAULT 7
#define FALCOC_SLOT_SOCK_UNKNOWN 8
#define FALCOC_SLOT_PTRACE_DEFAULT 9
#define FALCOC_SLOT_EXE_DEFAULT 10
#define FALCOC_SLOT_EXE_UNKNOWN 11
#define FALCOC_SLOT_SUFFIX_DEFAULT 12
#define FALCOC_SLOT_SUFFIX_UNKNOWN 13
/* The clauses the path (suffix) table can narrow: a clause whose bit is
 * set in every entry, the default and the unknown slot passes every
 * lookup, so an event with only such clauses left skips the lookup. */
#define FALCOC_SLOT_PATH_USED 14
#define FALCOC_SLOT_SUFFIX_USED 15
#define FALCOC_NR_SLOTS 16

/* Container classes (values of falcoc_cgroups). */
#define FALCOC_CGROUP_HOST 0
#define FALCOC_CGROUP_CONTAINER 1

/* Open flags classes: a 4-bit set, index into falcoc_openflags. */
#define FALCOC_OPEN_READ (1u << 0)
#define FALCOC_OPEN_WRITE (1u << 1)
#define FALCOC_OPEN_CREATE (1u << 2)
#define FALCOC_OPEN_TRUNC (1u << 3)

/* Paths of at most this many bytes are matched against the LPM tries;
 * longer ones are unknown. The key has room for the NUL and one more byte,
 * so that a cut string can be told from one that fits. */
#define FALCOC_PATH_MAX 253

/* Header flags. */
#define FALCOC_F_PATH_UNKNOWN (1u << 0) /* a path dimension judged it: relative, not normal, truncated or unreadable */
#define FALCOC_F_EXE_UNKNOWN (1u << 1)
#define FALCOC_F_ARGV_TRUNCATED (1u << 2)
#define FALCOC_F_ENV_TRUNCATED (1u << 3)
#define FALCOC_F_COMPAT (1u << 4)  /* a 32-bit syscall: kind is the x86_64 syscall it means; args from the 32-bit registers */
#define FALCOC_F_SOCK_UNKNOWN (1u << 5)

/* Item types. */
#define FALCOC_ITEM_PATH 1       /* first path argument, bytes without NUL */
#define FALCOC_ITEM_PATH2 2      /* second path argument */
#define FALCOC_ITEM_OPEN 3       /* struct falcoc_open */
#define FALCOC_ITEM_ARGV 4       /* NUL-separated arguments */
#define FALCOC_ITEM_ENV 5        /* NUL-separated environment */
#define FALCOC_ITEM_SOCKADDR 6   /* remote (or bound) sockaddr, raw */
#define FALCOC_ITEM_LOCALADDR 7  /* local sockaddr built from the socket */
#define FALCOC_ITEM_EXEC 8       /* struct falcoc_exec */
#define FALCOC_ITEM_FORK 9       /* struct falcoc_fork */
#define FALCOC_ITEM_EXECTP 10    /* struct falcoc_exectp */
#define FALCOC_ITEM_EXIT 11      /* struct falcoc_exit */
#define FALCOC_ITEM_EXE 12       /* exec filename (the new program's path) */
#define FALCOC_ITEM_EXEPATH 13   /* the new program's file as the task's root sees it (symlinks resolved) */
#define FALCOC_ITEM_FDPAIR 14    /* pipe, pipe2, socketpair: the two int descriptors */
#define FALCOC_ITEM_MASK 15      /* the clause mask's words past the header's (words 4 and up), when the mask is wider */

#define FALCOC_ARGV_MAX 4096
#define FALCOC_SOCKADDR_MAX 128

/* Clause masks. The loader picks the width from the rules: from
 * FALCOC_MASK_HEAD_WORDS (256 bits) to FALCOC_MASK_WORDS_MAX words, in
 * the frozen falcoc_mask_words, and sizes the value of every map that
 * holds a mask to it: a mask-valued map's value is the first
 * falcoc_mask_words words of struct falcoc_mask (the gate's, 8 bytes
 * more). The programs touch no word past falcoc_mask_words: the verifier,
 * which knows the constant, follows only those. A record's header carries
 * the first FALCOC_MASK_HEAD_WORDS; the rest follow in a FALCOC_ITEM_MASK
 * item (a record without one, such as a scheduler record, has every bit
 * past the header's set). */
#define FALCOC_MASK_HEAD_WORDS 4
#define FALCOC_MASK_WORDS_MAX 32

struct falcoc_mask {
	__u64 w[FALCOC_MASK_WORDS_MAX];
};

struct falcoc_mask_head {
	__u64 w[FALCOC_MASK_HEAD_WORDS];
};

/* The mask last: its size is set at load. */
struct falcoc_gate {
	__u32 dims;
	__u32 flags;
	struct falcoc_mask mask;
};

struct falcoc_comm_key {
	__u32 set;
	char comm[16];
};

struct falcoc_uid_key {
	__u32 set;
	__u32 uid;
};

struct falcoc_ptrace_key {
	__u32 set;
	__u32 request;
};

/* any = 1 marks the per-family default (port is then 0). Port in host order. */
struct falcoc_sock_key {
	__u32 set;
	__u16 family;
	__u16 port;
	__u32 any;
};

/* LPM trie key: prefixlen counts bits of set + path. An exact entry
 * includes the path's terminating NUL, a prefix entry does not. */
struct falcoc_path_key {
	__u32 prefixlen;
	__u8 set;
	__u8 path[FALCOC_PATH_MAX + 2];
};

struct falcoc_counters {
	__u64 calls;
	__u64 gate_pass;
	__u64 prefilter_drop;
	__u64 sent;
	__u64 lost;
};

struct falcoc_hdr {
	__u64 ts_boot_ns;
	struct falcoc_mask_head mask;
	__u64 args[6];
	__s64 ret;
	__u64 cgroup_id;
	__u32 kind;
	__u32 size;
	__u32 tid;
	__u32 tgid;
	__u32 ppid;
	__u32 vtid;
	__u32 vtgid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 loginuid;
	__u32 cpu;
	__u16 flags;
	__u16 nitems;
	char comm[16];
};

struct falcoc_item {
	__u16 type;
	__u16 len; /* payload bytes, without the padding */
	__u32 pad;
};

struct falcoc_open {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
	__s32 dirfd;
	__u32 pad;
};

#define FALCOC_EXEC_MEMFD (1u << 0)    /* the executable's name starts with "memfd:" */
#define FALCOC_EXEC_WRITABLE (1u << 1) /* the task's credentials may write the executable */
#define FALCOC_EXEC_UPPER (1u << 2)    /* on overlayfs, in the upper (writable) layer */
#define FALCOC_EXEC_LOWER (1u << 3)    /* on overlayfs, only in a lower layer */

struct falcoc_exec {
	__u64 cap_effective;
	__u64 cap_permitted;
	__u64 cap_inheritable;
	__u64 exe_ino;
	__s64 exe_ctime_sec;
	__s64 exe_mtime_sec;
	__u32 exe_ctime_nsec;
	__u32 exe_mtime_nsec;
	__u32 tty; /* major << 20 | minor, 0 when none */
	__u32 flags;
};

struct falcoc_fork {
	__u32 parent_tid;
	__u32 parent_tgid;
	__u32 child_tid;
	__u32 child_tgid;
	__u64 clone_flags; /* from the parent's syscall registers; 0 when not known */
};

struct falcoc_exectp {
	__u32 old_tid;
	__u32 pad;
};

struct falcoc_exit {
	__s32 exit_code;
	__u32 group_dead;
};

#endif
