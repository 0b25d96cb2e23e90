//go:build ignore

// packet opens an AF_PACKET socket and exits.
package main

import (
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	unix.Close(fd)
}
