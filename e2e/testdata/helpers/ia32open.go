//go:build ignore

// ia32open opens (and closes) the file named by its argument with the
// 32-bit open system call (int 0x80), as a 32-bit program would.
package main

import (
	"os"
	"strconv"

	"github.com/falcoc/falcoc/internal/testutil/ia32"
)

func main() {
	if len(os.Args) != 2 {
		os.Stderr.WriteString("usage: ia32open FILE\n")
		os.Exit(2)
	}
	p, err := ia32.LowString(os.Args[1])
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	fd := ia32.Syscall(ia32.SysOpen, p, 0, 0)
	if fd < 0 {
		os.Stderr.WriteString("32-bit open: errno " + strconv.FormatInt(-fd, 10) + "\n")
		os.Exit(1)
	}
	ia32.Syscall(ia32.SysClose, uintptr(fd), 0, 0)
}
