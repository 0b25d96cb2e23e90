package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// Main is the falcoc-bench command: it parses args (without the program
// name), runs the harness and prints the table (or JSON) on stdout and
// progress on stderr. It returns the exit status: 0 when it measured (a
// missed target is reported, not an error), 1 on failure, 2 for a usage
// error or when not root.
func Main(args []string, stdout, stderr io.Writer) int {
	return MainIO(args, os.Stdin, stdout, stderr)
}

// MainIO is [Main] with its standard input (read by -attribute).
func MainIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("falcoc-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts     Options
		rulesArg stringList
		asJSON   bool
		quiet    bool
	)
	fs.StringVar(&opts.FalcoRun, "falco-run", "", "falco-run binary (default: build ./cmd/falco-run)")
	fs.Var(&rulesArg, "rules", "rules file given to falco-run (repeatable; default: the embedded default rules)")
	fs.IntVar(&opts.GeneratedRules, "rules-generated", 0, "add this many generated rules (rulegen.Generate, seed 1)")
	fs.IntVar(&opts.Rounds, "rounds", 5, "interleaved rounds")
	fs.DurationVar(&opts.Duration, "duration", time.Second, "time per workload, per round and mode (open-shadow: a quarter)")
	fs.IntVar(&opts.CPU, "cpu", runtime.NumCPU()-1, "pin the workloads to this CPU (-1: no pinning)")
	fs.BoolVar(&opts.BPFStats, "bpf-stats", false, "enable kernel BPF statistics and report falco-run's BPF time per op (adds its own cost)")
	wl := fs.String("workloads", "", "comma-separated workloads to run (default all: getppid, open-ordinary, mixed, open-shadow)")
	fs.BoolVar(&opts.CompareDefault, "compare-default", false, "add a mode: falco-run in full mode with its embedded default rules (compares -rules with them in one run)")
	fs.StringVar(&opts.Before, "before", "", "another falco-run binary (an earlier build): adds the modes evttype-before and full-before, run with it")
	fs.IntVar(&opts.RTPriority, "rt", 0, "run the workloads at this SCHED_FIFO priority (0: normal), so that falco-run's userspace cannot take their CPU")
	jitPid := fs.Int("jit-lines", 0, "print the JITed line table of the BPF programs of this process (falco-run's pid) and exit; see -attribute")
	attribute := fs.String("attribute", "", "read `perf script -F ip,sym` on stdin and charge each sample under the BPF hook to a source line, with this file of -jit-lines output, then exit")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "q", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: falcoc-bench [flags]\n\n"+
			"Measures what falco-run costs other processes, in each prefilter mode, against\n"+
			"no agent, and how many events the kernel prefilter drops. Needs root.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "falcoc-bench: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if opts.Rounds <= 0 || opts.Duration <= 0 || opts.GeneratedRules < 0 {
		fmt.Fprintln(stderr, "falcoc-bench: -rounds and -duration must be positive, -rules-generated not negative")
		return 2
	}
	if *jitPid > 0 {
		lines, err := JitLines(*jitPid)
		if err == nil {
			err = WriteJitLines(stdout, lines)
		}
		if err != nil {
			fmt.Fprintf(stderr, "falcoc-bench: %v\n", err)
			return 1
		}
		return 0
	}
	if *attribute != "" {
		if err := attributeMain(*attribute, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "falcoc-bench: %v\n", err)
			return 1
		}
		return 0
	}
	opts.Rules = rulesArg
	if *wl != "" {
		opts.Workloads = strings.Split(*wl, ",")
	}
	if !quiet {
		opts.Log = prefixWriter{stderr}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, opts)
	if errors.Is(err, ErrNotRoot) {
		fmt.Fprintf(stderr, "falcoc-bench: %v\n", err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "falcoc-bench: %v\n", err)
		return 1
	}
	if asJSON {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "falcoc-bench: %v\n", err)
		return 1
	}
	return 0
}

func attributeMain(jitFile string, stdin io.Reader, stdout io.Writer) error {
	f, err := os.Open(jitFile)
	if err != nil {
		return err
	}
	defer f.Close()
	lines, err := ReadJitLines(f)
	if err != nil {
		return err
	}
	a, err := Attribute(stdin, lines)
	if err != nil {
		return err
	}
	return a.Write(stdout, 60)
}

// prefixWriter prefixes progress lines with the program name.
type prefixWriter struct{ w io.Writer }

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, "falcoc-bench: "); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}
