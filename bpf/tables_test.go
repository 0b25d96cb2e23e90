package bpf

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/compiler/plan"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		tables *Tables
		want   string
	}{
		{"nil", nil, "invalid prefilter tables: nil"},
		{"empty", &Tables{}, ""},
		{"gate id", &Tables{Gate: map[int]Mask{512: {}}}, "invalid prefilter tables: gate: syscall id 512 out of range [0,512)"},
		{"negative id", &Tables{Always: map[int]bool{-1: true}}, "invalid prefilter tables: always: syscall id -1 out of range [0,512)"},
		{"dims", &Tables{DimsPerSyscall: map[int]Dim{2: 1 << 20}}, "invalid prefilter tables: dims per syscall: syscall 2: unknown dimension bits 0x100000"},
		{"long comm", &Tables{Comm: map[string]Mask{"0123456789abcdef": {}}}, `invalid prefilter tables: comm "0123456789abcdef": want 1 to 15 bytes without NUL`},
		{"relative path", &Tables{PathExact: map[string]Mask{"etc": {}}}, `invalid prefilter tables: path exact "etc": not an absolute path`},
		{"long prefix", &Tables{ExePrefix: map[string]Mask{"/" + strings.Repeat("a", PathMax): {}}}, fmt.Sprintf("invalid prefilter tables: exe prefix %q: longer than 253 bytes", "/"+strings.Repeat("a", PathMax))},
		{"nul", &Tables{PathPrefix: map[string]Mask{"/a\x00": {}}}, `invalid prefilter tables: path prefix "/a\x00": contains NUL`},
		{"too many uids", &Tables{UID: bigUIDs(plan.TableCeiling + 1)}, "invalid prefilter tables: uid: 262145 entries, at most 262144"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.tables.Validate()
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrInvalidTables) {
					t.Errorf("error %v does not wrap ErrInvalidTables", err)
				}
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func bigUIDs(n int) map[uint32]Mask {
	m := make(map[uint32]Mask, n)
	for i := range n {
		m[uint32(1000+i)] = MaskOf(i % MaskBits)
	}
	return m
}

func TestPathKey(t *testing.T) {
	k := pathKey(1, "/etc", true)
	if k.Prefixlen != 8*(1+4+1) || k.Set != 1 || string(k.Path[:5]) != "/etc\x00" {
		t.Errorf("exact key = %d %d %q", k.Prefixlen, k.Set, k.Path[:5])
	}
	k = pathKey(0, "/etc", false)
	if k.Prefixlen != 8*(1+4) {
		t.Errorf("prefix key prefixlen = %d, want %d", k.Prefixlen, 40)
	}
}

func TestMask(t *testing.T) {
	m := MaskOf(0, 63, 64, 255, 256, 2047, 2048, -1)
	want := Mask{1 | 1<<63, 1, 0, 1 << 63, 1}
	want[31] = 1 << 63
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("MaskOf (-want +got):\n%s", diff)
	}
	if !m.Has(255) || !m.Has(256) || m.Has(1) || m.Has(300) || m.Has(2048) || m.IsZero() || !(Mask{}).IsZero() {
		t.Errorf("Has/IsZero wrong for %v", m)
	}
	if got := m.And(MaskOf(64)); got != MaskOf(64) {
		t.Errorf("And = %v", got)
	}
}

// largestTables fills every table to its limit, keeping one exact entry
// for /etc/hostname.
func largestTables(bit Mask) *Tables {
	t := &Tables{
		Gate:           map[int]Mask{},
		DimsPerSyscall: map[int]Dim{},
		Comm:           map[string]Mask{},
		UID:            bigUIDs(MaxUID),
		Sock:           map[SockKey]Mask{},
		SockFamily:     map[uint16]Mask{unix.AF_INET6: bit},
		Arg0:           map[uint32]Mask{},
		PathExact:      map[string]Mask{"/etc/hostname": bit},
		PathPrefix:     map[string]Mask{},
		ExeExact:       map[string]Mask{},
		ExePrefix:      map[string]Mask{},
		CommDefault:    bit,
		UIDDefault:     bit,
		Arg0Default:    bit,
		Suffix:         map[string]Mask{},
		SuffixDefault:  bit,
	}
	for i := range MaxSuffix {
		t.Suffix[fmt.Sprintf("/s%d", i)] = bit
	}
	for id := range NumSyscalls {
		t.Gate[id] = Mask{} // only openat passes
	}
	t.Gate[sysOpenat] = bit
	t.DimsPerSyscall[sysOpenat] = dimAll
	for i := range MaxComm {
		t.Comm[fmt.Sprintf("comm%d", i)] = bit
	}
	for i := range MaxSock - 1 {
		t.Sock[SockKey{Family: unix.AF_INET, Port: uint16(i)}] = bit
	}
	for i := range MaxPtrace {
		t.Arg0[uint32(i)] = bit
	}
	for i := range MaxPath - 1 {
		t.PathPrefix[fmt.Sprintf("/p%d/", i)] = bit
	}
	for i := range MaxExe / 2 {
		t.ExeExact[fmt.Sprintf("/usr/bin/e%d", i)] = bit
		t.ExePrefix[fmt.Sprintf("/opt/e%d/", i)] = bit
	}
	for i := range t.OpenFlags {
		t.OpenFlags[i] = bit
	}
	t.ContainerHost, t.ContainerInside, t.ContainerUnknown = bit, bit, bit
	return t
}

// TestLargestTables loads tables at every limit, twice (both halves of the
// double buffer in use), and checks filtering still works.
func TestLargestTables(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	bit := MaskOf(17)
	big := largestTables(bit)
	if err := big.Validate(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		start := time.Now()
		setTables(t, c, big, ModeFull)
		t.Logf("round %d: SetTables took %v", round, time.Since(start))
		fd := openClose(t, "/etc/hostname", unix.O_RDONLY)
		openClose(t, "/etc/passwd", unix.O_RDONLY)
		recs := drain(t, c, 200*time.Millisecond, mine(sysOpenat))
		var got []string
		for _, r := range recs {
			got = append(got, fmt.Sprintf("%s ret=%d", str(r.Path()), r.Ret))
		}
		if diff := cmp.Diff([]string{fmt.Sprintf("/etc/hostname ret=%d", fd)}, got); diff != "" {
			t.Errorf("round %d records (-want +got):\n%s", round, diff)
		}
	}
}

// TestSwapAtomic reloads two table sets in a loop while opening a file
// that both sets accept, each with its own clause bit. A record judged by a
// half-written or cleared set would be dropped or carry a mixed mask.
func TestSwapAtomic(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	bitA, bitB := MaskOf(1), MaskOf(2)
	mk := func(b Mask) *Tables {
		return &Tables{
			Gate:           map[int]Mask{sysOpenat: b},
			DimsPerSyscall: map[int]Dim{sysOpenat: DimPath | DimComm},
			PathExact:      map[string]Mask{"/etc/hostname": b},
			CommDefault:    b,
			Comm:           map[string]Mask{"falcoc-none": b},
		}
	}
	sets := []*Tables{mk(bitA), mk(bitB)}
	setTables(t, c, sets[0], ModeFull)

	var stop atomic.Bool
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; !stop.Load(); i++ {
			if err := c.SetTables(sets[i%2]); err != nil {
				t.Errorf("SetTables: %v", err)
				return
			}
			swaps.Add(1)
		}
	}()
	// Read concurrently so the ring buffer never fills.
	var masks = map[Mask]int{}
	var paths = map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, r := range drain(t, c, 3*time.Second, mine(sysOpenat)) {
			masks[r.Mask]++
			paths[str(r.Path())]++
		}
	}()
	const opens = 100000
	deadline := time.Now().Add(time.Second)
	n := 0
	for ; n < opens && time.Now().Before(deadline); n++ {
		openClose(t, "/etc/hostname", unix.O_RDONLY)
	}
	stop.Store(true)
	wg.Wait()
	<-done
	if swaps.Load() < 10 {
		t.Errorf("only %d swaps happened", swaps.Load())
	}
	// Every record has one set's mask, never a mix; a record may be
	// missing only where the kernel says it skipped the program (see
	// Capture.Missed).
	missed, err := c.Missed()
	if err != nil {
		t.Fatal(err)
	}
	got := masks[bitA] + masks[bitB]
	if got > n || uint64(n-got) > missed || len(masks) > 2 {
		t.Errorf("%d opens, %d runs skipped by the kernel, records by mask: %v", n, missed, masks)
	}
	if paths["/etc/hostname"] != got {
		t.Errorf("%d opens, records by path: %v", n, paths)
	}
	t.Logf("%d opens, %d swaps, masks %v", n, swaps.Load(), masks)
}

// sizedTables has n path prefixes and n comms besides an exact entry for
// /etc/hostname: the only openat of the test that passes.
func sizedTables(bit Mask, n int) *Tables {
	t := &Tables{
		Gate:           map[int]Mask{sysOpenat: bit},
		DimsPerSyscall: map[int]Dim{sysOpenat: DimPath | DimComm},
		PathExact:      map[string]Mask{"/etc/hostname": bit},
		PathPrefix:     map[string]Mask{},
		Comm:           map[string]Mask{},
		CommDefault:    bit,
	}
	for i := range n {
		t.PathPrefix[fmt.Sprintf("/p%d/", i)] = bit
		t.Comm[fmt.Sprintf("comm%d", i)] = bit
	}
	return t
}

// TestTablesSizedAtLoad loads a capture whose maps were sized for tables
// twice the default capacity (issue 10: the tables grow with the rules),
// and checks that a capture of the default size refuses them, and takes
// them once FitTables has dropped the dimensions that do not fit (the
// kernel then narrows less: both opens pass).
func TestTablesSizedAtLoad(t *testing.T) {
	bit := MaskOf(3)
	big := sizedTables(bit, 2*MaxPath)
	opens := func(c *Capture) []string {
		openClose(t, "/etc/hostname", unix.O_RDONLY)
		openClose(t, "/etc/passwd", unix.O_RDONLY)
		var got []string
		for _, r := range drain(t, c, 200*time.Millisecond, mine(sysOpenat)) {
			got = append(got, str(r.Path()))
		}
		return got
	}
	t.Run("sized", func(t *testing.T) {
		want := CapacityFor(big)
		if want.Path != 2*(2*MaxPath+1) || want.Comm != 2*2*MaxPath || want.UID != MaxUID {
			t.Fatalf("CapacityFor = %+v", want)
		}
		c := load(t, &Options{NoSchedEvents: true, Capacity: want})
		if got := c.Capacity(); got != want {
			t.Fatalf("Capacity() = %+v, want %+v", got, want)
		}
		for round := range 2 { // both table sets
			setTables(t, c, big, ModeFull)
			if d := cmp.Diff([]string{"/etc/hostname"}, opens(c)); d != "" {
				t.Errorf("round %d: records (-want +got):\n%s", round, d)
			}
		}
	})
	t.Run("default", func(t *testing.T) {
		c := load(t, &Options{NoSchedEvents: true})
		if got := c.Capacity(); got != plan.DefaultCapacity {
			t.Fatalf("Capacity() = %+v, want the default", got)
		}
		err := c.SetTables(big)
		if !errors.Is(err, ErrInvalidTables) || !strings.Contains(err.Error(), fmt.Sprintf("path: %d entries, at most %d", 2*MaxPath+1, MaxPath)) {
			t.Fatalf("SetTables over capacity: %v", err)
		}
		fit, dropped, folded := c.FitTables(big)
		if dropped != DimPath|DimComm || folded {
			t.Fatalf("FitTables dropped %v, want path|comm", dropped)
		}
		setTables(t, c, fit, ModeFull)
		if d := cmp.Diff([]string{"/etc/hostname", "/etc/passwd"}, opens(c)); d != "" {
			t.Errorf("records (-want +got):\n%s", d)
		}
	})
}
