// Package clitest runs the falcoc and falco-run commands from scripts in
// ../testdata/script: each script is a txtar archive of commands and the
// files they use, run by testscript with the real commands in-process.
package clitest

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"flipbyte": flipByte,
		},
		Setup: func(env *testscript.Env) error {
			// Alerts carry this host name; no syslog socket in tests.
			env.Setenv("FALCO_HOSTNAME", "test-host")
			env.Setenv("TZ", "UTC")
			// No /etc/falco/falco.yaml of this machine's: scripts name
			// their configuration (or set this to test the default).
			env.Setenv("FALCOC_DEFAULT_CONFIG", "")
			return nil
		},
	})
}

// flipByte is the script command "flipbyte SRC DST OFFSET": it copies SRC
// to DST with the byte at OFFSET inverted.
func flipByte(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! flipbyte")
	}
	if len(args) != 3 {
		ts.Fatalf("usage: flipbyte SRC DST OFFSET")
	}
	off, err := strconv.Atoi(args[2])
	if err != nil {
		ts.Fatalf("flipbyte: offset: %v", err)
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if off < 0 || off >= len(data) {
		ts.Fatalf("flipbyte: offset %d outside the %d bytes of %s", off, len(data), args[0])
	}
	data[off] ^= 0xff
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}
