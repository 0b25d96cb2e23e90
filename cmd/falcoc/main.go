// Command falcoc compiles and checks Falco rule files.
package main

import (
	"os"

	"github.com/falcoc/falcoc/internal/cli"
)

func main() {
	os.Exit(cli.Main(cli.NewFalcocCommand(cli.StdStreams()), os.Args[1:]))
}
