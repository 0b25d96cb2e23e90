package kmatrix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a run of the matrix.
type Options struct {
	// Kernels to boot, in order.
	Kernels []Kernel
	// CacheDir holds downloads and unpacked packages between runs.
	CacheDir string
	// LogDir receives each kernel's serial logs.
	LogDir string
	// GoldenDir holds the headroom golden files; Update rewrites them.
	GoldenDir string
	Update    bool
	// TestBinary is the bpf package's statically linked test binary,
	// FalcoRun a statically linked falco-run, TestData the bpf package's
	// testdata directory (may not exist).
	TestBinary, FalcoRun, TestData string
	// Timeout bounds one kernel's boot and steps; TestTimeout is the test
	// binary's own -test.timeout (shorter, so a hang still reports).
	Timeout, TestTimeout time.Duration
	// Budget bounds the whole run (downloads included): a VM gets at most
	// what is left of it, and a kernel whose turn comes too late is not
	// booted. Zero: no bound.
	Budget time.Duration
	// TestRun restricts the bpf tests (-test.run); "" runs them all.
	TestRun string
	// Parallel is how many VMs run at once.
	Parallel int
	// InstallDeps lets the run install QEMU's missing shared libraries
	// with the machine's apt-get.
	InstallDeps bool
	// Mirror and SecurityMirror override the archive URIs read from the
	// machine's apt sources.
	Mirror, SecurityMirror string
	// ListsMaxAge is how old the private package lists may be before they
	// are fetched again.
	ListsMaxAge time.Duration
	// Log receives progress lines.
	Log io.Writer
}

// Result is one kernel's outcome.
type Result struct {
	Kernel Kernel
	// Image is the kernel package booted (nil if it could not be fetched).
	Image *kernelImage
	// Err is a failure to fetch, boot or read the kernel's output; the
	// steps' own failures are in Tests, Falco and Headroom.
	Err error
	// TimedOut is set when the VM was killed at Options.Timeout.
	TimedOut bool
	Duration time.Duration
	Report   *Report
	Tests    TestSummary
	Falco    FalcoSummary
	Headroom HeadroomResult
	// Logs are the serial logs: console and results port.
	ConsoleLog, ResultsLog string
}

// Failures lists why the kernel failed, one line each; none means it
// passed.
func (r *Result) Failures() []string {
	var out []string
	if r.Err != nil {
		out = append(out, r.Err.Error())
	}
	if r.Report == nil {
		return out
	}
	if !r.Report.Begun {
		out = append(out, "the guest's /init reported nothing (see the console log)")
		return out
	}
	if !r.Report.Ended {
		out = append(out, "the guest did not finish its steps")
	}
	out = append(out, r.moduleFailures()...)
	switch t := &r.Tests; {
	case !t.Ran:
		out = append(out, "bpf tests did not run")
	case len(t.Failed) > 0 || len(t.Unfinished) > 0:
		out = append(out, fmt.Sprintf("bpf tests failed: %s", strings.Join(t.Failing(), ", ")))
	case !t.Finished:
		out = append(out, "bpf tests did not finish")
	case t.RC != 0:
		out = append(out, fmt.Sprintf("bpf tests exited with status %d", t.RC))
	case len(t.Passed) == 0:
		out = append(out, "bpf tests: no test passed")
	}
	switch f := &r.Falco; {
	case !f.Ran:
		out = append(out, "falco-run did not run")
	case !f.Ready:
		out = append(out, "falco-run did not start: "+f.Error)
	case f.RC != 0:
		out = append(out, fmt.Sprintf("falco-run exited with status %d: %s", f.RC, f.Error))
	}
	if f := &r.Falco; f.Ready {
		if missing := r.MissingAlerts(); len(missing) > 0 {
			out = append(out, "alerts missing: "+strings.Join(missing, ", "))
		}
	}
	if r.Headroom.Failed() {
		out = append(out, fmt.Sprintf("headroom %s: %s", r.Headroom.Status, r.Headroom.Note))
	}
	return out
}

// moduleFailures says, one line each, which of the kernel's modules (in
// the initramfs for its release) the guest did not load, and why.
func (r *Result) moduleFailures() []string {
	if r.Image == nil || r.Image.Modules == nil || r.Report == nil || !r.Report.Begun {
		return nil
	}
	var out []string
	for _, name := range r.Image.Modules.Names {
		msg, reported := r.Report.Modules[name]
		switch {
		case reported && msg == "":
		case reported:
			out = append(out, fmt.Sprintf("module %s did not load: %s", name, msg))
		case r.Report.ModulesNone:
			out = append(out, fmt.Sprintf("module %s not loaded: the guest (release %s) found no modules for its release; the host's are for %s",
				name, r.Report.Release, r.Image.Modules.Release))
		default:
			out = append(out, fmt.Sprintf("module %s not loaded: the guest did not report it", name))
		}
	}
	return out
}

// MissingAlerts lists the expected rules that did not fire.
func (r *Result) MissingAlerts() []string {
	var out []string
	for _, e := range expectedAlerts() {
		if r.Falco.Alerts[e.Rule] == 0 {
			out = append(out, e.Rule)
		}
	}
	return out
}

// Run runs the matrix: it fetches what is missing from the cache, builds
// the initramfs, boots the kernels (Options.Parallel at a time) and
// returns one Result per kernel. An error means nothing could be booted
// (no QEMU, no initramfs); a kernel's own failure is in its Result.
func Run(ctx context.Context, o Options) ([]*Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Parallel < 1 {
		o.Parallel = 1
	}
	var deadline time.Time
	if o.Budget > 0 {
		deadline = time.Now().Add(o.Budget)
	}
	for _, d := range []string{o.CacheDir, o.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	mirrors := map[string]string{archiveDebian: o.Mirror, archiveSecurity: o.SecurityMirror}
	if o.Mirror == "" || o.SecurityMirror == "" {
		deb, sec, err := machineMirrors(ctx)
		if err != nil {
			return nil, err
		}
		if mirrors[archiveDebian] == "" {
			mirrors[archiveDebian] = deb
		}
		if mirrors[archiveSecurity] == "" {
			mirrors[archiveSecurity] = sec
		}
	}
	f := &fetcher{cache: o.CacheDir, mirrors: mirrors, maxAge: o.ListsMaxAge, log: o.Log,
		suites: map[string]*aptSuite{}, installQ: o.InstallDeps}

	q, err := f.qemu(ctx)
	if err != nil {
		return nil, fmt.Errorf("QEMU: %w", err)
	}
	bb, err := f.busybox(ctx)
	if err != nil {
		return nil, fmt.Errorf("busybox: %w", err)
	}
	results := make([]*Result, len(o.Kernels))
	for i, k := range o.Kernels {
		r := &Result{Kernel: k,
			ConsoleLog: filepath.Join(o.LogDir, k.ID+".console.log"),
			ResultsLog: filepath.Join(o.LogDir, k.ID+".log")}
		r.Image, r.Err = f.kernel(ctx, k)
		if r.Err != nil {
			r.Err = fmt.Errorf("fetch kernel: %w", r.Err)
		}
		results[i] = r
	}

	work, err := os.MkdirTemp(o.CacheDir, "run-")
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	initrd := filepath.Join(work, "initramfs.cpio.gz")
	var skip []string
	for _, s := range skippedTests() {
		skip = append(skip, s.Name)
	}
	var mods []*kernelModules
	for _, r := range results {
		if r.Image != nil && r.Image.Modules != nil {
			mods = append(mods, r.Image.Modules)
		}
	}
	in := guestInputs{Busybox: bb, TestBinary: o.TestBinary, FalcoRun: o.FalcoRun, TestData: o.TestData, Modules: mods,
		Config: guestConfig{TestTimeout: o.TestTimeout, TestRun: o.TestRun, TestSkip: anchoredAlternation(skip),
			ReadyTimeout: 90 * time.Second, StopTimeout: 20 * time.Second}}
	if err := buildInitramfs(ctx, in, initrd); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "QEMU %s; initramfs built; booting %d kernels, %d at a time\n", q.Version, len(o.Kernels), o.Parallel)

	// Workers take the slow kernels first, then the others in the
	// matrix's order (the summary keeps that order).
	queue := make(chan *Result)
	var wg sync.WaitGroup
	for range o.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range queue {
				runKernel(ctx, o, q, r, initrd, deadline)
			}
		}()
	}
	for _, r := range bootOrder(results) {
		queue <- r
	}
	close(queue)
	wg.Wait()
	return results, ctx.Err()
}

// bootOrder returns the results to boot (those without an error yet),
// the longest runs first so that the budget's end falls on a short one:
// the slow kernels in the matrix's order, then the others newest first
// (on CI's 2026-12-07 runs, bpf tests: sid 259 s, 6.1 241 s, 5.10 230 s).
func bootOrder(results []*Result) []*Result {
	var slow, rest []*Result
	for _, r := range results {
		switch {
		case r.Err != nil:
		case r.Kernel.Slow:
			slow = append(slow, r)
		default:
			rest = append(rest, r)
		}
	}
	slices.Reverse(rest)
	return append(slow, rest...)
}

// runKernel boots one kernel, if the budget leaves time for it, and reads
// its results into r.
func runKernel(ctx context.Context, o Options, q *qemuInstall, r *Result, initrd string, deadline time.Time) {
	timeout, testTimeout, ok := vmTimeouts(o, deadline, time.Now())
	if !ok {
		r.Err = fmt.Errorf("not booted: the matrix's time budget (%s) was used up by the kernels before it", o.Budget)
		fmt.Fprintf(o.Log, "%s: %v\n", r.Kernel.ID, r.Err)
		return
	}
	fmt.Fprintf(o.Log, "%s: booting %s %s (timeout %s)\n", r.Kernel.ID, r.Image.Package, r.Image.Version, timeout.Round(time.Second))
	r.Err = boot(ctx, q, r, initrd, timeout, testTimeout)
	if err := r.analyze(o); err != nil && r.Err == nil {
		r.Err = err
	}
	verdict := "ok"
	if len(r.Failures()) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(o.Log, "%s: %s in %s\n", r.Kernel.ID, verdict, r.Duration.Round(time.Second))
}

// guestOverhead is what a VM needs besides the bpf tests: boot, and
// falco-run's step (its wait for the ready line, the workload, its stop).
// Measured: 20 to 40 s (5.10 ran 248 s, its tests 230 s); 150 s left the
// last kernel's tests too little of the budget.
const guestOverhead = 90 * time.Second

// minTestTime is the least time worth booting a kernel for.
const minTestTime = time.Minute

// vmTimeouts gives the next VM's timeout and its tests' timeout: the
// configured ones, shortened to what is left of the budget at now. It
// reports false when too little is left to boot.
func vmTimeouts(o Options, deadline, now time.Time) (vm, tests time.Duration, ok bool) {
	vm, tests = o.Timeout, o.TestTimeout
	if !deadline.IsZero() {
		vm = min(vm, deadline.Sub(now))
	}
	tests = min(tests, vm-guestOverhead)
	if tests < minTestTime {
		return vm, tests, false
	}
	return vm, tests, true
}

// anchoredAlternation builds a -test.run style pattern matching exactly
// the named top-level tests ("" for none).
func anchoredAlternation(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

// boot runs one kernel in QEMU until it powers off or the timeout.
func boot(ctx context.Context, q *qemuInstall, r *Result, initrd string, timeout, testTimeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := qemuArgs(q, r.Image.Vmlinuz, initrd, r.ConsoleLog, r.ResultsLog, testTimeout)
	for _, p := range []string{r.ConsoleLog, r.ResultsLog} {
		os.Remove(p)
	}
	cmd := exec.CommandContext(ctx, q.Binary, args...)
	qlog, err := os.Create(strings.TrimSuffix(r.ResultsLog, ".log") + ".qemu.log")
	if err != nil {
		return err
	}
	defer qlog.Close()
	fmt.Fprintf(qlog, "%s %s\n", q.Binary, strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = qlog, qlog
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	r.Duration = time.Since(start)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.TimedOut = true
		return fmt.Errorf("timed out after %s (VM killed)", timeout)
	}
	if err != nil {
		return fmt.Errorf("qemu: %w (see %s)", err, qlog.Name())
	}
	return nil
}

// qemuArgs is QEMU's command line: TCG (this machine's KVM cannot run
// these kernels), no network, no display; the kernel's console on the
// first serial port and the guest's results on the second.
func qemuArgs(q *qemuInstall, vmlinuz, initrd, console, results string, testTimeout time.Duration) []string {
	var args []string
	for _, d := range q.Firmware {
		args = append(args, "-L", d)
	}
	return append(args,
		"-accel", "tcg,thread=multi,tb-size=512", "-cpu", "max", "-m", "2048", "-smp", "2", "-M", "q35",
		"-nographic", "-no-reboot", "-nic", "none", "-vga", "none", "-monitor", "none",
		"-serial", "file:"+console, "-serial", "file:"+results,
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", fmt.Sprintf("console=ttyS0 panic=-1 loglevel=4 kmatrix.test_timeout=%ds", int(testTimeout.Seconds())))
}

// analyze reads the kernel's logs into the Result's summaries and
// compares (or updates) its headroom figures.
func (r *Result) analyze(o Options) error {
	rep, err := parseLog(r.ResultsLog)
	if err != nil {
		return err
	}
	if !rep.Begun {
		// No results port: the guest may have reported on its console.
		if c, err := parseLog(r.ConsoleLog); err == nil && c.Begun {
			rep = c
		}
	}
	r.Report = rep
	if err := saveFiles(rep, strings.TrimSuffix(r.ResultsLog, ".log")); err != nil {
		return err
	}
	r.Tests = summarizeTests(rep.Steps[stepTests])
	r.Falco = summarizeFalcoRun(rep)
	if !rep.Begun {
		return nil
	}
	lines := headroomLines(rep.Steps[stepTests])
	if o.Update {
		r.Headroom, err = updateHeadroom(o.GoldenDir, r.Kernel.ID, rep.Release, lines)
	} else {
		r.Headroom, err = compareHeadroom(o.GoldenDir, r.Kernel.ID, rep.Release, lines)
	}
	return err
}

// saveFiles writes each file the guest reported (falco-run's standard
// error and alerts, the verifier's logs, the kernel's log) beside the
// kernel's logs, as PREFIX.NAME.
func saveFiles(rep *Report, prefix string) error {
	for name, sec := range rep.Files {
		if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
			continue
		}
		data := strings.Join(sec.Lines, "\n")
		if err := os.WriteFile(prefix+"."+name, []byte(data), 0o644); err != nil {
			return fmt.Errorf("save the guest's %s: %w", name, err)
		}
	}
	return nil
}

// parseLog parses a serial log file.
func parseLog(p string) (*Report, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read guest output: %w", err)
	}
	defer f.Close()
	return ParseReport(f)
}
