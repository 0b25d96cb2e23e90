//go:build ignore

// connect dials the TCP address given as its argument and exits. The e2e
// test builds it under a system binary's name (sha1sum).
package main

import (
	"net"
	"os"
)

func main() {
	c, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	c.Close()
}
