package state

import (
	"net/netip"
	"testing"
)

// checkInvariants verifies the table's bookkeeping.
func checkInvariants(t *testing.T, tb *Table) {
	t.Helper()
	if tb.Len() > tb.opts.MaxThreads {
		t.Fatalf("%d threads above the bound %d", tb.Len(), tb.opts.MaxThreads)
	}
	count := map[*Process]int{}
	live := map[*Process]int{}
	for tid, th := range tb.threads {
		if th.Tid != tid {
			t.Fatalf("thread keyed %d has tid %d", tid, th.Tid)
		}
		if tb.procs[th.proc.Pid] != th.proc {
			t.Fatalf("thread %d's process %d is not in the table", tid, th.proc.Pid)
		}
		count[th.proc]++
		if !th.exited {
			live[th.proc]++
		}
	}
	for pid, p := range tb.procs {
		if p.Pid != pid {
			t.Fatalf("process keyed %d has pid %d", pid, p.Pid)
		}
		if count[p] != p.nthreads || count[p] == 0 {
			t.Fatalf("process %d: nthreads %d, counted %d", pid, p.nthreads, count[p])
		}
		if live[p] != p.live {
			t.Fatalf("process %d: live %d, counted %d", pid, p.live, live[p])
		}
		if p.main == nil || tb.threads[p.main.Tid] != p.main || p.main.proc != p {
			t.Fatalf("process %d: bad main thread", pid)
		}
	}
	refs := map[*FDTable]int{}
	for _, p := range tb.procs {
		refs[p.fds]++
	}
	for fds, n := range refs {
		if fds != nil && fds.refs != n {
			t.Fatalf("fd table shared by %d processes has refs %d", n, fds.refs)
		}
	}
	for i, h := range tb.hot {
		if h != nil && (tb.threads[h.Tid] != h || uint64(h.Tid)%hotThreads != uint64(i)) {
			t.Fatalf("cached thread %d is not the table's, or in the wrong slot", h.Tid)
		}
	}
	// Every FD is in one slot of one table, under its own number, and
	// none that was freed for reuse is still open.
	owner := map[*FD]bool{}
	for _, f := range tb.freeFDs {
		owner[f] = true
	}
	for fds := range refs {
		n := 0
		fds.Each(func(f *FD) bool {
			n++
			if owner[f] {
				t.Fatalf("fd %d is in two places", f.Num)
			}
			owner[f] = true
			if fds.Get(f.Num) != f {
				t.Fatalf("fd %d is not found under its number", f.Num)
			}
			return true
		})
		if n != fds.Len() {
			t.Fatalf("fd table has %d descriptors, Len says %d", n, fds.Len())
		}
	}
	for _, th := range tb.threads {
		th.Ancestor(DefaultMaxAncestorDepth)
		th.Cmdline()
		th.SessionLeader()
	}
}

// FuzzTableOps applies a byte-coded sequence of updates and checks that
// nothing panics and the bookkeeping stays consistent.
func FuzzTableOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 3, 2, 0, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 0})
	f.Fuzz(runOps)
}

func runOps(t *testing.T, ops []byte) {
	{
		tb := newTestTable(&Options{MaxThreads: 8})
		tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
		var ts uint64
		for i := 0; i+2 < len(ops); i += 3 {
			ts++
			a, b := int64(ops[i+1]%12), int64(ops[i+2]%12)
			switch ops[i] % 14 {
			case 0:
				tb.Fork(ts, a, b, b, 0)
			case 1:
				tb.Fork(ts, a, b, a, CloneThread|CloneFiles)
			case 2:
				tb.Exec(ts, a, "x/../y", []string{"y", "z"}, nil, ExecInfo{Comm: "y"})
			case 3:
				tb.Exit(ts, a)
			case 4:
				tb.Open(a, b, "../f", OCloexec, 0, b-1)
			case 5:
				tb.Dup(a, b, b+1, b%2 == 0)
			case 6:
				tb.Close(a, b)
			case 7:
				tb.Connect(a, b, netip.AddrPort{}, netip.MustParseAddrPort("1.2.3.4:5"))
			case 8:
				tb.Fork(ts, a, b, b, CloneFiles|CloneParent|CloneNewPID)
			case 9:
				tb.Chdir(a, "../..")
			case 10:
				tb.SetChildSubreaper(a, true)
			case 11:
				tb.Flush()
			case 12:
				tb.CloseRange(a, uint64(b), uint64(b+3), uint32(b%7))
			case 13:
				tb.Accept(a, b, b+1, netip.AddrPort{}, netip.AddrPort{})
			}
			tb.Lookup(a) // fills the table's last-thread cache
			checkInvariants(t, tb)
		}
	}
}
