package bpf

// ia32ToX64 maps a 32-bit syscall number (int 0x80, sysenter) to the
// x86_64 syscall with the same meaning and argument order. The capture
// judges and sends a 32-bit syscall as that syscall, its arguments taken
// from the 32-bit registers. Left out, so not seen: those whose arguments
// differ (socketcall, clone, sendmsg with a 32-bit msghdr, the 16-bit id
// calls, the old stat family).
var ia32ToX64 = map[int]int{
	1:   60,  // exit
	2:   57,  // fork
	3:   0,   // read
	4:   1,   // write
	5:   2,   // open
	6:   3,   // close
	8:   85,  // creat
	9:   86,  // link
	10:  87,  // unlink
	11:  59,  // execve
	12:  80,  // chdir
	14:  133, // mknod
	15:  90,  // chmod
	21:  165, // mount
	26:  101, // ptrace
	37:  62,  // kill
	38:  82,  // rename
	39:  83,  // mkdir
	40:  84,  // rmdir
	41:  32,  // dup
	42:  22,  // pipe
	52:  166, // umount2
	61:  161, // chroot
	63:  33,  // dup2
	66:  112, // setsid
	83:  88,  // symlink
	94:  91,  // fchmod
	128: 175, // init_module
	133: 81,  // fchdir
	172: 157, // prctl
	185: 126, // capset
	190: 58,  // vfork
	203: 113, // setreuid32
	204: 114, // setregid32
	208: 117, // setresuid32
	210: 119, // setresgid32
	213: 105, // setuid32
	214: 106, // setgid32
	252: 231, // exit_group
	295: 257, // openat
	296: 258, // mkdirat
	301: 263, // unlinkat
	302: 264, // renameat
	303: 265, // linkat
	304: 266, // symlinkat
	306: 268, // fchmodat
	310: 272, // unshare
	330: 292, // dup3
	331: 293, // pipe2
	346: 308, // setns
	350: 313, // finit_module
	353: 316, // renameat2
	356: 319, // memfd_create
	357: 321, // bpf
	358: 322, // execveat
	359: 41,  // socket
	360: 53,  // socketpair
	361: 49,  // bind
	362: 42,  // connect
	363: 50,  // listen
	364: 288, // accept4
	369: 44,  // sendto
	373: 48,  // shutdown
	435: 435, // clone3
	436: 436, // close_range
	437: 437, // openat2
}

// ia32Table is the ia32_ids map's content: for each number below
// NumSyscalls, the x86_64 id, or -1.
func ia32Table() []int32 {
	t := make([]int32, NumSyscalls)
	for i := range t {
		t[i] = -1
	}
	for nr, id := range ia32ToX64 {
		if nr < NumSyscalls {
			t[nr] = int32(id)
		}
	}
	return t
}
