package kmatrix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// EnvCache names the variable that overrides the default cache directory.
const EnvCache = "FALCOC_KMATRIX_CACHE"

// defaultCache is where downloads are kept when neither -cache nor
// $FALCOC_KMATRIX_CACHE says otherwise.
const defaultCache = "/var/cache/falcoc-kmatrix"

// Main is the falcoc-kmatrix command: it parses args (without the program
// name), runs the matrix, prints the summary on stdout and progress on
// stderr. It returns the exit status: 0 when every kernel passed, 1 when
// one failed or the matrix could not run, 2 for a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("falcoc-kmatrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache := os.Getenv(EnvCache)
	if cache == "" {
		cache = defaultCache
	}
	var o Options
	kernels := fs.String("kernels", "all", "comma-separated kernels to boot: "+strings.Join(kernelIDs(DefaultKernels()), ", "))
	fs.StringVar(&o.CacheDir, "cache", cache, "download cache (default from $"+EnvCache+")")
	fs.StringVar(&o.LogDir, "keep", "", "directory for each kernel's serial logs (default: CACHE/logs)")
	fs.BoolVar(&o.Update, "update", false, "write the headroom golden files from this run instead of comparing")
	fs.StringVar(&o.GoldenDir, "golden", "bpf/testdata/headroom", "directory of the headroom golden files")
	fs.StringVar(&o.TestBinary, "bpf-test", "bin/bpf.test", "the bpf package's test binary (CGO_ENABLED=0 go test -c ./bpf)")
	fs.StringVar(&o.FalcoRun, "falco-run", "bin/falco-run-static", "a statically linked falco-run (CGO_ENABLED=0 go build ./cmd/falco-run)")
	fs.StringVar(&o.TestData, "testdata", "bpf/testdata", "the bpf package's testdata directory, copied beside the tests")
	fs.DurationVar(&o.Timeout, "timeout", 11*time.Minute, "per kernel: boot, tests and falco-run")
	fs.DurationVar(&o.TestTimeout, "test-timeout", 8*time.Minute, "the bpf test binary's -test.timeout (at most -timeout minus 2m30s)")
	fs.DurationVar(&o.Budget, "budget", 18*time.Minute, "the whole run's time limit: later VMs get what is left, a kernel is not booted with less than 2m30s (0: none)")
	fs.StringVar(&o.TestRun, "run", "", "run only the bpf tests matching this -test.run pattern")
	fs.IntVar(&o.Parallel, "parallel", 2, "VMs at a time (each uses 2 CPUs of TCG)")
	fs.BoolVar(&o.InstallDeps, "install-deps", false, "install QEMU's missing shared libraries with the machine's apt-get (root)")
	fs.StringVar(&o.Mirror, "mirror", "", "Debian archive URI (default: the machine's apt sources)")
	fs.StringVar(&o.SecurityMirror, "security-mirror", "", "Debian security archive URI (default: the machine's apt sources)")
	fs.DurationVar(&o.ListsMaxAge, "lists-max-age", 12*time.Hour, "fetch the private package lists again when older than this")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: falcoc-kmatrix [flags]\n\n"+
			"Boots Debian's cloud kernels under QEMU (TCG) and runs, as root in each, the bpf\n"+
			"package's tests and falco-run with the default rules against a workload that must\n"+
			"raise alerts. Prints one row per kernel; exits 1 if any kernel failed.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "falcoc-kmatrix: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	ks, err := SelectKernels(*kernels)
	if err != nil {
		fmt.Fprintf(stderr, "falcoc-kmatrix: -kernels: %v\n", err)
		return 2
	}
	o.Kernels = ks
	if o.LogDir == "" {
		o.LogDir = filepath.Join(o.CacheDir, "logs")
	}
	if !*quiet {
		o.Log = prefixWriter{w: stderr}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if skips := skippedTests(); len(skips) > 0 {
		fmt.Fprintln(stdout, "bpf tests skipped in the VMs (not kernel-related):")
		for _, s := range skips {
			fmt.Fprintf(stdout, "  %s: %s\n", s.Name, s.Reason)
		}
	} else {
		fmt.Fprintln(stdout, "bpf tests skipped in the VMs: none")
	}
	start := time.Now()
	results, err := Run(ctx, o)
	if results != nil {
		fmt.Fprintln(stdout)
		if werr := WriteSummary(stdout, results); werr != nil && err == nil {
			err = werr
		}
	}
	fmt.Fprintf(stdout, "\nlogs: %s\nwall time: %s\n", o.LogDir, time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintf(stderr, "falcoc-kmatrix: %v\n", err)
		return 1
	}
	failed := 0
	for _, r := range results {
		if len(r.Failures()) > 0 {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d kernels failed\n", failed, len(results))
		return 1
	}
	fmt.Fprintf(stdout, "all %d kernels passed\n", len(results))
	return 0
}

// prefixWriter prefixes each write (a progress line) with the command's
// name.
type prefixWriter struct{ w io.Writer }

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "falcoc-kmatrix: %s", b); err != nil {
		return 0, err
	}
	return len(b), nil
}
