// Command falco-run runs Falco rules against the live kernel, a trace replay
// or the Kubernetes audit log.
package main

import (
	"os"

	"github.com/falcoc/falcoc/internal/cli"
)

func main() {
	os.Exit(cli.Main(cli.NewFalcoRunCommand(cli.StdStreams()), os.Args[1:]))
}
