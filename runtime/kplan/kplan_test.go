package kplan

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
)

// judgeTables evaluates bpf.Tables the way capture.c does, independently
// of the prefilter package's simulator, for the dimensions planned.
func judgeTables(t *bpf.Tables, v plan.KernelView) bpf.Mask {
	m := t.Gate[v.Syscall]
	if m.IsZero() {
		return m
	}
	dims := t.DimsPerSyscall[v.Syscall]
	if dims&bpf.DimComm != 0 {
		c := v.Comm
		if len(c) > 15 {
			c = c[:15]
		}
		if x, ok := t.Comm[c]; ok {
			m = m.And(x)
		} else {
			m = m.And(t.CommDefault)
		}
	}
	if dims&bpf.DimUID != 0 {
		if x, ok := t.UID[v.EUID]; ok {
			m = m.And(x)
		} else {
			m = m.And(t.UIDDefault)
		}
	}
	if dims&bpf.DimContainer != 0 {
		switch v.Container {
		case plan.ContainerHost:
			m = m.And(t.ContainerHost)
		case plan.ContainerInside:
			m = m.And(t.ContainerInside)
		default:
			m = m.And(t.ContainerUnknown)
		}
	}
	if dims&bpf.DimPtrace != 0 {
		if x, ok := t.Arg0[uint32(v.Arg0)]; ok {
			m = m.And(x)
		} else {
			m = m.And(t.Arg0Default)
		}
	}
	if (v.Syscall == 42 || v.Syscall == 49) && dims&bpf.DimSock != 0 {
		x, ok := t.Sock[bpf.SockKey{Family: v.SockFamily, Port: v.SockPort}]
		if !ok {
			x, ok = t.SockFamily[v.SockFamily]
		}
		switch {
		case v.SockUnknown:
			m = m.And(t.SockUnknown)
		case ok:
			m = m.And(x)
		default:
			m = m.And(t.SockDefault)
		}
	}
	if (v.Syscall == 59 || v.Syscall == 322) && dims&bpf.DimExe != 0 {
		p := v.Path
		if !plan.PathKnown(p) || strings.HasSuffix(p, "/") || v.PathUnreadable {
			m = m.And(t.ExeUnknown)
		} else {
			best, bestLen := t.ExeDefault, -1
			for k, x := range t.ExePrefix {
				if strings.HasPrefix(p, k) && len(k) > bestLen {
					best, bestLen = x, len(k)
				}
			}
			if x, ok := t.ExeExact[p]; ok {
				best = x
			}
			m = m.And(best)
		}
	}
	open := v.Syscall == 2 || v.Syscall == 257 || v.Syscall == 437 || v.Syscall == 85
	if open && dims&bpf.DimOpenFlags != 0 {
		f := v.OpenFlags
		if v.Syscall == 85 {
			f = 0o1101
		}
		m = m.And(t.OpenFlags[plan.OpenClass(f)])
	}
	if open && dims&bpf.DimPath != 0 {
		if !plan.PathKnown(v.Path) || v.PathUnreadable {
			m = m.And(t.PathUnknown)
		} else {
			best, bestLen := t.PathDefault, -1
			for k, x := range t.PathPrefix {
				if strings.HasPrefix(v.Path, k) && len(k) > bestLen {
					best, bestLen = x, len(k)
				}
			}
			if x, ok := t.PathExact[v.Path]; ok {
				best = x
			}
			m = m.And(best)
		}
	}
	return m
}

var (
	comms = []string{"cat", "bash", "vi", "curl", "find", "nc", "dpkg", "a-very-long-program", ""}
	paths = []string{"/etc/shadow", "/etc/", "/etc", "/etc/passwd", "/tmp/x", "/usr/bin/ls", "/dev/x", "/dev/shm/a",
		"/var/log/a", "/root/.ssh/id_rsa", "x", "/etc//x", "/", "/etc/sudoers.d/a", "/etc/pam.d"}
	ids = []int{0, 2, 41, 42, 49, 59, 83, 85, 101, 110, 257, 437, 322, 175, 313}
	// More rules, for the arg0 (ptrace, socket domain), socket and exe
	// dimensions.
	moreRules = `
- rule: ptrace attach
  desc: d
  condition: evt.type = ptrace and evt.arg.request in (PTRACE_ATTACH, PTRACE_SEIZE)
  output: o
  priority: NOTICE
- rule: exec nc
  desc: d
  condition: evt.type in (execve, execveat) and evt.res = SUCCESS and proc.exepath in (/usr/bin/nc, /bin/nc)
  output: o
  priority: NOTICE
- rule: packet socket
  desc: d
  condition: evt.type = socket and evt.arg.domain contains AF_PACKET
  output: o
  priority: NOTICE
- rule: bind ssh
  desc: d
  condition: evt.type = bind and evt.rawres = 0 and fd.sport = 22 and not proc.name = sshd
  output: o
  priority: NOTICE
`
	exes  = []string{"/usr/bin/nc", "/bin/nc", "/bin/ls", "nc", "/usr/bin/nc/", "/"}
	socks = []struct {
		fam, port uint16
		unknown   bool
	}{{2, 22, false}, {10, 22, false}, {2, 80, false}, {1, 0, false}, {0, 0, false}, {2, 443, false}, {16, 0, false}, {2, 0, true}}
)

// TestTablesMatchSimulator checks the plan's tables, which bpf loads as
// they are, evaluated as capture.c does, against the planner's simulator,
// with a 256-bit mask and a wider one.
func TestTablesMatchSimulator(t *testing.T) {
	for _, n := range []int{200, 1500} {
		t.Run(fmt.Sprintf("rules=%d", n), func(t *testing.T) { tablesMatchSimulator(t, n) })
	}
}

func tablesMatchSimulator(t *testing.T, n int) {
	data := rulegen.Generate(n, 7)
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: data}, {Name: "more.yaml", Data: []byte(moreRules)}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	p, err := prefilter.Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab := &p.Tables
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	if wide := tab.MaskWords() > plan.MaskHeadWords; wide != (n > 200) {
		t.Fatalf("%d rules, %d clauses: a %d-bit mask", n, len(p.Clauses), 64*tab.MaskWords())
	}
	r := rand.New(rand.NewSource(1))
	kept := 0
	for range 20000 {
		v := plan.KernelView{
			Syscall:   ids[r.Intn(len(ids))],
			Comm:      comms[r.Intn(len(comms))],
			EUID:      uint32([]int{0, 33, 1000}[r.Intn(3)]),
			Container: plan.ContainerClass(r.Intn(3)),
			OpenFlags: uint64(r.Intn(4)) | uint64(r.Intn(2))*0o100 | uint64(r.Intn(2))*0o1000,
			Path:      paths[r.Intn(len(paths))],
			Arg0:      []uint64{2, 16, 17, 0x4206, 0x10010, 7}[r.Intn(6)],
		}
		if v.Syscall == 59 || v.Syscall == 322 {
			v.Path = exes[r.Intn(len(exes))]
		}
		sk := socks[r.Intn(len(socks))]
		v.SockFamily, v.SockPort, v.SockUnknown = sk.fam, sk.port, sk.unknown
		want := plan.Judge(p, v)
		got := judgeTables(tab, v)
		if got != want {
			t.Fatalf("view %+v: tables give %v, simulator %v", v, got, want)
		}
		if !want.IsZero() {
			kept++
		}
	}
	if kept == 0 || kept == 20000 {
		t.Errorf("weak test: %d of 20000 views kept", kept)
	}
	if len(tab.Sock) == 0 || len(tab.Arg0) == 0 || len(tab.ExeExact) == 0 {
		t.Errorf("weak test: %d sock, %d ptrace, %d exe entries", len(tab.Sock), len(tab.Arg0), len(tab.ExeExact))
	}
}
