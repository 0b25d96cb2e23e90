package bpf

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

func TestLoadErrorOneLine(t *testing.T) {
	err := loadError(fmt.Errorf("assign values: field OnSysExit: program on_sys_exit: load program: %w", errors.New("permission denied")), "6.18.44")
	want := "kernel 6.18.44 refused on_sys_exit: assign values: field OnSysExit: program on_sys_exit: load program: permission denied; " +
		"falco-run needs Linux 5.10 or later with BTF: please report this with the output of `falco-run --support`"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrProgramRejected) {
		t.Error("not ErrProgramRejected")
	}
	err = loadError(fmt.Errorf("program on_sys_exit: load program: bad CO-RE relocation: invalid func unknown#195896080"), "5.10.0")
	if want := "kernel 5.10.0 refused on_sys_exit: it reads a kernel type or field this kernel does not have ("; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want it to start with %q", err, want)
	}
}

func TestVerifierReason(t *testing.T) {
	log := []string{
		"0: R1=ctx() R10=fp0",
		"combined stack size of 2 calls is 576. Too large",
		"verification time 1234 usec",
		"stack depth 152+408",
		"processed 17549 insns (limit 1000000) max_states_per_insn 9 total_states 1068 peak_states 872 mark_read 0",
		"",
	}
	if got, want := verifierReason(log), "combined stack size of 2 calls is 576. Too large"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := verifierReason(nil); got != "the verifier gave no reason" {
		t.Errorf("empty log: %q", got)
	}
}

func TestParseFeatures(t *testing.T) {
	got, err := ParseFeatures("loop, task_btf,")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Feature{FeatureLoop, FeatureTaskBTF}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = ParseFeatures("loop,fentry")
	if want := `unknown kernel feature "fentry" (known: exit_group_dead, loop, preempt_disable, task_btf, task_pt_regs)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	for _, f := range AllFeatures {
		if f.Fallback() == "" {
			t.Errorf("%s has no fallback description", f)
		}
	}
}

// TestProbeFeatures reads this kernel's BTF: each feature is decided (no
// error) wherever BTF exists. What the answers are depends on the kernel;
// the kernel matrix runs this on each.
func TestProbeFeatures(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testutil.SkipOrFail(t, "no kernel BTF")
	}
	k, err := ProbeFeatures()
	if err != nil {
		t.Fatal(err)
	}
	if !k.BTF || k.Release == "" {
		t.Fatalf("BTF %v, release %q", k.BTF, k.Release)
	}
	for _, f := range AllFeatures {
		if _, ok := k.Has[f]; !ok {
			t.Errorf("%s not decided", f)
		}
	}
	t.Logf("kernel %s: %v, fallbacks %v", k.Release, k.Has, k.Fallbacks())
}
