//go:build ignore

// modload asks the kernel to load /dev/null as a module. It fails, which
// is expected: the attempt is the event.
package main

import (
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	f, err := os.Open("/dev/null")
	if err != nil {
		os.Exit(1)
	}
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if err == nil {
		os.Stderr.WriteString("finit_module of /dev/null succeeded\n")
		os.Exit(1)
	}
}
