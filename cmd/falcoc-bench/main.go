// Command falcoc-bench measures falco-run's cost per syscall in each
// kernel prefilter mode against no agent (see internal/bench).
package main

import (
	"os"

	"github.com/falcoc/falcoc/internal/bench"
)

func main() {
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
