package prefilter

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
)

// composeDims judges v from the Judger's per-dimension lookups, as
// runtime/kplan's UserJudge does.
func composeDims(j *plan.Judger, v *plan.KernelView) plan.Mask {
	m := j.Gate(v.Syscall)
	if m.IsZero() {
		return m
	}
	d := j.Dims(v.Syscall)
	if d&plan.DimComm != 0 {
		m = m.And(j.CommMask(v.Comm))
	}
	if d&plan.DimUID != 0 {
		m = m.And(j.UIDMask(v.EUID))
	}
	if d&plan.DimContainer != 0 {
		m = m.And(j.ContainerMask(v.Container))
	}
	if d&plan.DimArg0 != 0 {
		m = m.And(j.Arg0Mask(v.Arg0))
	}
	switch plan.SyscallKind(v.Syscall) {
	case plan.SyscallExec:
		if d&plan.DimExe != 0 {
			m = m.And(j.ExeMask(v.Path, v.PathUnreadable))
		}
	case plan.SyscallSock:
		if d&plan.DimSock != 0 {
			if v.Syscall == 44 || v.Syscall == 46 { // sendto, sendmsg
				m = m.And(j.SendMask(v.SendFamily, v.SendType, v.SendProto, v.SendConnected, v.SendUnknown))
			} else {
				m = m.And(j.SockMask(v.SockFamily, v.SockPort, v.SockUnknown))
			}
		}
	case plan.SyscallPath:
		if plan.IsOpenFamily(v.Syscall) && d&plan.DimOpenFlags != 0 {
			m = m.And(j.OpenFlagsMask(v.Syscall, v.OpenFlags))
		}
		if d&plan.DimPath != 0 {
			m = m.And(j.PathMask(v.Path, v.PathUnreadable))
		}
		if d&plan.DimSuffix != 0 {
			m = m.And(j.SuffixMask(v.Path, v.PathUnreadable))
		}
	}
	return m
}

// TestDimsMatchJudge: the Judger's per-dimension lookups, composed as
// runtime/kplan's UserJudge composes them, give Judge's mask on the
// property tests' generated rules and kernel views.
func TestDimsMatchJudge(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	n := 600
	if testing.Short() {
		n = 100
	}
	narrowed := 0
	for range n {
		var in []RuleInput
		for i := range 1 + r.Intn(4) {
			e := genExpr(r, 3)
			if i%2 == 1 {
				e = genShaped(r)
			}
			in = append(in, RuleInput{Name: fmt.Sprintf("r%d", i), IR: check.Fold(e)})
		}
		p, err := BuildRules(in, &Options{Syscalls: testSyscalls})
		if err != nil {
			t.Fatal(err)
		}
		j := plan.NewJudger(p)
		for range 40 {
			w := genWorld(r)
			want := plan.Judge(p, w.kv)
			if got := composeDims(j, &w.kv); got != want {
				t.Fatalf("composed %v != Judge %v for %+v", got.Bits(), want.Bits(), w.kv)
			}
			if want != j.Gate(w.kv.Syscall) {
				narrowed++
			}
		}
	}
	if narrowed < n {
		t.Errorf("weak test: %d views narrowed beyond the gate for %d plans", narrowed, n)
	}
}
