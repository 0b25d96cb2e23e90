//go:build ignore

// openloop opens and closes the file given as its argument as fast as it
// can, until it is killed: the noise of the e2e noise test.
package main

import (
	"os"
	"syscall"
)

func main() {
	if len(os.Args) != 2 {
		os.Stderr.WriteString("usage: openloop FILE\n")
		os.Exit(2)
	}
	for {
		fd, err := syscall.Open(os.Args[1], syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		syscall.Close(fd)
	}
}
