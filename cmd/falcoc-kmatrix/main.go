// Command falcoc-kmatrix boots Debian's kernels under QEMU and runs the
// bpf package's tests and falco-run in each (see internal/kmatrix).
package main

import (
	"os"

	"github.com/falcoc/falcoc/internal/kmatrix"
)

func main() {
	os.Exit(kmatrix.Main(os.Args[1:], os.Stdout, os.Stderr))
}
