package bpf

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// A Feature is a fact about the running kernel that the capture programs
// depend on. Each has a fallback: where the kernel lacks it, the loader
// sets a load-time constant and the verifier follows the other branch.
type Feature string

// The features [ProbeFeatures] looks for in the kernel's BTF.
const (
	// FeatureTaskBTF: bpf_get_current_task_btf (5.11). Without it the
	// current task's comm, euid and 32-bit flag are read through probe
	// reads (bpf_get_current_comm, BPF_CORE_READ): the same values, a few
	// nanoseconds more per gated syscall.
	FeatureTaskBTF Feature = "task_btf"
	// FeatureTaskPtRegs: bpf_task_pt_regs (5.15). Without it the parent's
	// registers at fork are found at the top of its 16 KiB kernel stack,
	// as x86_64's task_pt_regs does (a kernel built with KASAN has 32 KiB
	// stacks: clone flags read there are wrong).
	FeatureTaskPtRegs Feature = "task_pt_regs"
	// FeatureExitGroupDead: sched_process_exit's group_dead argument
	// (newer kernels). Without it group_dead is read from the process's
	// count of live threads, which do_exit has already decreased: when
	// the last two threads exit at the same time, both may say "group
	// dead".
	FeatureExitGroupDead Feature = "exit_group_dead"
	// FeatureLoop: bpf_loop (5.17). Without it the loader loads
	// on_sys_exit_noloop, which does not resolve the new program's path at
	// execve: proc.exepath is then the filename execve was given
	// (symlinks not resolved, as /bin/cat for /usr/bin/cat), and the exe
	// dimension of the prefilter passes every exec.
	FeatureLoop Feature = "loop"
	// FeaturePreempt: the bpf_preempt_disable kfunc (6.10). Where the
	// kernel has it, the loader loads on_sys_exit_preempt, which runs
	// with preemption disabled: newer kernels run syscall tracepoints
	// preemptible, and a program preempted mid-run makes the kernel skip
	// it for every other task on that CPU (see Capture.Missed). Without
	// it the syscall tracepoints of that kernel run with preemption
	// disabled anyway (they became preemptible after 6.10).
	FeaturePreempt Feature = "preempt_disable"
	// FeaturePreemptGlobal: a verifier that accepts calls to global
	// functions with preemption disabled (6.18.44 does; 6.12 does not).
	// It is not probed: for a clause mask wider than the record header's,
	// Load tries on_sys_exit_pglobal, which calls the global functions,
	// checked once each, and falls back to on_sys_exit_preempt, whose
	// static copies are checked at each call site (about twice the
	// verifier's work), when the kernel refuses it. Not in AllFeatures;
	// FALCOC_BPF_FALLBACK=preempt_global skips the try.
	FeaturePreemptGlobal Feature = "preempt_global"
)

// AllFeatures lists every feature, in a stable order.
var AllFeatures = []Feature{FeatureLoop, FeaturePreempt, FeatureTaskBTF, FeatureTaskPtRegs, FeatureExitGroupDead}

// fallbacks says what the capture does without each feature.
var fallbacks = map[Feature]string{
	FeatureTaskBTF:       "task fields through probe reads instead of BTF loads",
	FeatureTaskPtRegs:    "fork's clone flags from the top of a 16 KiB kernel stack",
	FeatureExitGroupDead: "exit's group_dead from the count of live threads",
	FeatureLoop:          "proc.exepath is the exec filename (symlinks not resolved); the exe dimension passes every exec",
	FeaturePreempt:       "the syscall program runs with the preemption the tracepoint gives it",
	FeaturePreemptGlobal: "the verifier checks the syscall program's static copies of its functions at each call site (a wide clause mask takes longer to load)",
}

// Fallback describes what the capture does when the kernel lacks f.
func (f Feature) Fallback() string { return fallbacks[f] }

// variable is the program constant that tells the verifier about f.
func (f Feature) variable() string {
	switch f {
	case FeatureTaskBTF:
		return captureVarFalcocHasTaskBtf
	case FeatureTaskPtRegs:
		return captureVarFalcocHasTaskPtRegs
	case FeatureExitGroupDead:
		return captureVarFalcocHasExitGroupDead
	}
	// FeatureLoop and FeaturePreempt select a program, not a constant.
	return ""
}

// KernelInfo is what [ProbeFeatures] found about the running kernel.
type KernelInfo struct {
	Release string // uname -r
	Version string // uname -v
	Machine string // uname -m
	// BTF reports whether /sys/kernel/btf/vmlinux exists; the capture
	// needs it (tp_btf programs and CO-RE).
	BTF bool
	// Has holds, for each feature, whether the kernel has it.
	Has map[Feature]bool
}

// Fallbacks lists the features the kernel lacks, sorted.
func (k KernelInfo) Fallbacks() []Feature {
	var out []Feature
	for _, f := range AllFeatures {
		if !k.Has[f] {
			out = append(out, f)
		}
	}
	return out
}

// ProbeFeatures reads uname and the kernel's BTF. It needs no privileges.
// A kernel without BTF gives BTF false and no features, and no error: the
// caller decides (Load fails with [ErrNoBTF]).
func ProbeFeatures() (KernelInfo, error) {
	var k KernelInfo
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		k.Release = unix.ByteSliceToString(u.Release[:])
		k.Version = unix.ByteSliceToString(u.Version[:])
		k.Machine = unix.ByteSliceToString(u.Machine[:])
	}
	k.Has = map[Feature]bool{}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return k, nil
	}
	k.BTF = true
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return k, fmt.Errorf("read kernel BTF: %w", err)
	}
	helpers, err := enumValues(spec, "bpf_func_id")
	if err != nil {
		return k, err
	}
	k.Has[FeatureTaskBTF] = helpers["BPF_FUNC_get_current_task_btf"]
	k.Has[FeatureTaskPtRegs] = helpers["BPF_FUNC_task_pt_regs"]
	k.Has[FeatureLoop] = helpers["BPF_FUNC_loop"]
	var fn *btf.Func
	k.Has[FeaturePreempt] = spec.TypeByName("bpf_preempt_disable", &fn) == nil
	n, err := tracepointArgs(spec, "sched_process_exit")
	if err != nil {
		return k, err
	}
	k.Has[FeatureExitGroupDead] = n >= 2
	return k, nil
}

// enumValues returns the names of an enum's values in the kernel's BTF.
func enumValues(spec *btf.Spec, name string) (map[string]bool, error) {
	var e *btf.Enum
	if err := spec.TypeByName(name, &e); err != nil {
		return nil, fmt.Errorf("kernel BTF: enum %s: %w", name, err)
	}
	out := make(map[string]bool, len(e.Values))
	for _, v := range e.Values {
		out[v.Name] = true
	}
	return out, nil
}

// tracepointArgs returns how many arguments a raw tracepoint passes to a
// tp_btf program, from its btf_trace_NAME typedef (whose first parameter
// is the tracepoint's private data, not an argument).
func tracepointArgs(spec *btf.Spec, name string) (int, error) {
	var td *btf.Typedef
	if err := spec.TypeByName("btf_trace_"+name, &td); err != nil {
		return 0, fmt.Errorf("kernel BTF: tracepoint %s: %w", name, err)
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return 0, fmt.Errorf("kernel BTF: btf_trace_%s is %s, not a function pointer", name, td.Type)
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	if !ok {
		return 0, fmt.Errorf("kernel BTF: btf_trace_%s points to %s, not a function", name, ptr.Target)
	}
	return len(proto.Params) - 1, nil
}

// applyFeatures writes the feature constants into spec: each feature the
// kernel has, unless forced off, is 1.
func applyFeatures(spec *ebpf.CollectionSpec, has map[Feature]bool, forceOff []Feature) error {
	off := map[Feature]bool{}
	for _, f := range forceOff {
		if fallbacks[f] == "" {
			return fmt.Errorf("unknown kernel feature %q (known: %s)", f, featureNames())
		}
		off[f] = true
	}
	for _, f := range AllFeatures {
		if f.variable() == "" {
			continue
		}
		v, ok := spec.Variables[f.variable()]
		if !ok {
			return fmt.Errorf("capture object has no constant %s", f.variable())
		}
		on := uint32(0)
		if has[f] && !off[f] {
			on = 1
		}
		if err := v.Set(on); err != nil {
			return fmt.Errorf("set %s: %w", f.variable(), err)
		}
	}
	return nil
}

func featureNames() string {
	var s []string
	for _, f := range AllFeatures {
		s = append(s, string(f))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// ParseFeatures parses a comma-separated list of feature names (as in
// FALCOC_BPF_FALLBACK).
func ParseFeatures(s string) ([]Feature, error) {
	var out []Feature
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		f := Feature(name)
		if fallbacks[f] == "" {
			return nil, fmt.Errorf("unknown kernel feature %q (known: %s)", name, featureNames())
		}
		out = append(out, f)
	}
	return out, nil
}

// ErrProgramRejected is the sentinel of [LoadError].
var ErrProgramRejected = errors.New("the kernel refused the capture program")

// LoadError is a program the kernel would not load, said in one line: the
// program, the kernel, the verifier's reason and what to do.
type LoadError struct {
	Program string // the program's name, "" when unknown
	Kernel  string // uname -r
	Reason  string // the verifier's last words, or the error
	Err     error  // the whole error (print *ebpf.VerifierError with %+v for the log)
}

func (e *LoadError) Error() string {
	prog := e.Program
	if prog == "" {
		prog = "capture programs"
	}
	return fmt.Sprintf("kernel %s refused %s: %s; falco-run needs Linux 5.10 or later with BTF: "+
		"please report this with the output of `falco-run --support`", e.Kernel, prog, e.Reason)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Is ties LoadError to [ErrProgramRejected].
func (e *LoadError) Is(target error) bool { return target == ErrProgramRejected }

var programInError = regexp.MustCompile(`program (\w+):`)

// loadError turns an error of loading the collection into a *LoadError.
func loadError(err error, kernel string) error {
	e := &LoadError{Kernel: kernel, Err: err, Reason: err.Error()}
	if m := programInError.FindStringSubmatch(err.Error()); m != nil {
		e.Program = m[1]
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		e.Reason = verifierReason(ve.Log)
	}
	// cilium/ebpf marks what it recognises in the error's text.
	switch {
	case strings.Contains(err.Error(), "bad CO-RE relocation"):
		e.Reason = "it reads a kernel type or field this kernel does not have (" + e.Reason + ")"
	case strings.Contains(err.Error(), "unknown kfunc"):
		e.Reason = "it calls a kernel function this kernel does not have (" + e.Reason + ")"
	}
	return e
}

// verifierReason picks the line of a verifier log that says why: the last
// one that is not a statistic.
func verifierReason(log []string) string {
	for i := len(log) - 1; i >= 0; i-- {
		l := strings.TrimSpace(log[i])
		if l == "" || strings.HasPrefix(l, "processed ") || strings.HasPrefix(l, "verification time") ||
			strings.HasPrefix(l, "stack depth") {
			continue
		}
		return l
	}
	return "the verifier gave no reason"
}
