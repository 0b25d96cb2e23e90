//go:build ignore

// redirect dials the TCP address given as its argument and puts the
// connection on its standard output with dup2, as a reverse shell does,
// then prints its own end of the connection (local address) on stderr.
package main

import (
	"net"
	"os"
	"syscall"
)

func main() {
	c, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if err := syscall.Dup2(int(f.Fd()), 1); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stderr.WriteString(c.LocalAddr().String() + "\n")
}
