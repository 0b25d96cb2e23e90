// Package clitest runs the falcoc and falco-run commands from scripts in
// ../testdata/script: each script is a txtar archive of commands and the
// files they use, run by testscript with the real commands in-process.
package clitest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/falcoc/falcoc/internal/cli"
)

var update = flag.Bool("update", false, "update the cmp files of the scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"falcoc": func() {
			os.Exit(cli.Main(cli.NewFalcocCommand(cli.StdStreams()), os.Args[1:]))
		},
		"falco-run": func() {
			os.Exit(cli.Main(cli.NewFalcoRunCommand(cli.StdStreams()), os.Args[1:]))
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "testdata", "script"),
		UpdateScripts:       *update || os.Getenv("FALCO_UPDATE") == "1",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// Alerts carry this host name; no syslog socket in tests.
			env.Setenv("FALCO_HOSTNAME", "test-host")
			env.Setenv("TZ", "UTC")
			return nil
		},
	})
}
