package kplan

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
)

// judgeTables evaluates bpf.Tables the way capture.c does, independently
// of the prefilter package's simulator, for the dimensions planned.
func judgeTables(t *bpf.Tables, v prefilter.KernelView) bpf.Mask {
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
		case prefilter.ContainerHost:
			m = m.And(t.ContainerHost)
		case prefilter.ContainerInside:
			m = m.And(t.ContainerInside)
		default:
			m = m.And(t.ContainerUnknown)
		}
	}
	open := v.Syscall == 2 || v.Syscall == 257 || v.Syscall == 437 || v.Syscall == 85
	if open && dims&bpf.DimOpenFlags != 0 {
		f := v.OpenFlags
		if v.Syscall == 85 {
			f = 0o1101
		}
		m = m.And(t.OpenFlags[prefilter.OpenClass(f)])
	}
	if open && dims&bpf.DimPath != 0 {
		if !prefilter.PathKnown(v.Path) || v.PathUnreadable {
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
	ids = []int{0, 2, 42, 59, 83, 85, 101, 110, 257, 437, 322, 175, 313}
)

func TestToTablesMatchesSimulator(t *testing.T) {
	data := prefilter.GenerateRules(200, 7)
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: data}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	p, err := prefilter.Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := ToTables(p)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	kept := 0
	for range 20000 {
		v := prefilter.KernelView{
			Syscall:   ids[r.Intn(len(ids))],
			Comm:      comms[r.Intn(len(comms))],
			EUID:      uint32([]int{0, 33, 1000}[r.Intn(3)]),
			Container: prefilter.ContainerClass(r.Intn(3)),
			OpenFlags: uint64(r.Intn(4)) | uint64(r.Intn(2))*0o100 | uint64(r.Intn(2))*0o1000,
			Path:      paths[r.Intn(len(paths))],
			Arg0:      uint64(r.Intn(20)),
		}
		want := prefilter.Judge(p, v)
		got := judgeTables(tab, v)
		if prefilter.Mask(got) != want {
			t.Fatalf("view %+v: tables give %v, simulator %v", v, got, want)
		}
		if !want.IsZero() {
			kept++
		}
	}
	if kept == 0 || kept == 20000 {
		t.Errorf("weak test: %d of 20000 views kept", kept)
	}
}

func TestToTablesErrors(t *testing.T) {
	if _, err := ToTables(nil); err == nil || err.Error() != "kernel tables: nil plan" {
		t.Errorf("ToTables(nil) = %v", err)
	}
	p := &prefilter.Plan{Tables: prefilter.Tables{Gate: map[int]prefilter.Mask{600: {1}}}}
	_, err := ToTables(p)
	if !errors.Is(err, bpf.ErrInvalidTables) {
		t.Fatalf("err = %v, want ErrInvalidTables", err)
	}
	if want := "kernel tables: invalid prefilter tables: gate: syscall id 600 out of range [0,512)"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
