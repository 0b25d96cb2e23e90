//go:build ignore

// memfdexec copies /bin/true into a memfd and executes it.
package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	fd, err := unix.MemfdCreate("falcoc-e2e", 0)
	if err != nil {
		fail(err)
	}
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		fail(err)
	}
	if _, err := unix.Write(fd, b); err != nil {
		fail(err)
	}
	p := "/proc/self/fd/" + strconv.Itoa(fd)
	fail(unix.Exec(p, []string{"true"}, os.Environ()))
}

func fail(err error) {
	os.Stderr.WriteString(err.Error() + "\n")
	os.Exit(1)
}
