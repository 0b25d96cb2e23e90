package bpf

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/compiler/plan"
)

// wideClauses is more clauses on one syscall than the record header's 256
// bits hold.
const wideClauses = 300

// wideTables: clause i (bit i, 0 to wideClauses-1) is "openat of file i
// by a task named comm" for even i, "openat of file i by a task named
// nobody-has-this" for odd i: the path table narrows each open to its
// own clause, the comm table keeps the even ones.
func wideTables(files []string, comm string) *Tables {
	var gate, even Mask
	t := &Tables{
		Words:          plan.WordsFor(wideClauses),
		DimsPerSyscall: map[int]Dim{sysOpenat: DimPath | DimComm},
		PathExact:      map[string]Mask{},
		Comm:           map[string]Mask{},
	}
	for i, f := range files {
		gate = gate.With(i)
		if i%2 == 0 {
			even = even.With(i)
		}
		t.PathExact[f] = MaskOf(i)
	}
	t.Gate = map[int]Mask{sysOpenat: gate}
	t.PathUnknown = gate
	t.Comm[comm] = even
	return t
}

// TestWideMask: with a 512-bit mask (issue 10: the mask grows with the
// rules), 300 clauses on openat each narrow exactly in the real program:
// the open of file i passes with exactly bit i when clause i holds (even
// i), is dropped when it does not (odd i: the comm differs), and an open
// no clause names is dropped. The words past the header's reach
// userspace in the mask item. A capture of the narrowest width refuses
// the tables, and takes them folded (bits shared: every even open still
// passes).
func TestWideMask(t *testing.T) {
	dir := t.TempDir()
	files := make([]string, wideClauses)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(files[i], nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	comm := strings.TrimSpace(string(b))
	tables := wideTables(files, comm)
	words := tables.MaskWords()
	if words != 8 {
		t.Fatalf("%d clauses: %d words, want 8", wideClauses, words)
	}
	// opens opens every file and the other one, and returns the masks of
	// the records, by path, and how many runs of the program the kernel
	// skipped (recursion misses, see Capture.Missed) or records it had no
	// room for meanwhile: a record may be missing only for one of those.
	opens := func(c *Capture) (map[string]Mask, uint64) {
		skipped := func() uint64 {
			missed, err := c.Missed()
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.Counters()
			if err != nil {
				t.Fatal(err)
			}
			return missed + n.Total().Lost
		}
		before := skipped()
		for _, f := range files {
			openClose(t, f, unix.O_RDONLY)
		}
		openClose(t, other, unix.O_RDONLY)
		got := map[string]Mask{}
		for _, r := range drain(t, c, time.Second, mine(sysOpenat)) {
			p := str(r.Path())
			if strings.HasPrefix(p, dir) {
				got[p] = r.Mask
			}
		}
		return got, skipped() - before
	}
	// short checks a count of records against the one wanted, allowing
	// for the runs the kernel skipped.
	short := func(what string, got, want int, skipped uint64) {
		t.Helper()
		if got > want || uint64(want-got) > skipped {
			t.Errorf("%s: %d records, want %d (%d runs skipped or records lost by the kernel)", what, got, want, skipped)
		} else if got < want {
			t.Logf("%s: %d records of %d; the kernel skipped or lost %d", what, got, want, skipped)
		}
	}
	low := func(m Mask, w int) Mask { // the first w words
		var out Mask
		copy(out[:w], m[:w])
		return out
	}

	// exact checks that every open of a true clause was sent with
	// exactly its bit, and no other open.
	exact := func(what string, got map[string]Mask, skipped uint64) {
		t.Helper()
		for i, f := range files {
			m, ok := got[f]
			switch {
			case i%2 == 1 && ok:
				t.Errorf("%s: open of %s (clause %d false) sent with mask %v", what, f, i, m.Bits())
			case i%2 == 0 && !ok && skipped == 0:
				t.Errorf("%s: open of %s (clause %d true) dropped", what, f, i)
			case ok && low(m, words) != MaskOf(i):
				t.Errorf("%s: open of %s: mask %v, want [%d]", what, f, low(m, words).Bits(), i)
			}
		}
		if m, ok := got[other]; ok {
			t.Errorf("%s: open of %s (no clause) sent with mask %v", what, other, m.Bits())
		}
		short(what, len(got), wideClauses/2, skipped)
	}

	c := load(t, &Options{NoSchedEvents: true, MaskWords: words})
	if c.MaskWords() != words {
		t.Fatalf("MaskWords() = %d, want %d", c.MaskWords(), words)
	}
	for round := range 2 { // both table sets
		setTables(t, c, tables, ModeFull)
		got, skipped := opens(c)
		exact(fmt.Sprintf("round %d", round), got, skipped)
	}
	// Evttype: the gate's 300 bits, words 4 to 7 from the mask item.
	setTables(t, c, tables, ModeEvttype)
	got, skipped := opens(c)
	short("evttype", len(got), wideClauses+1, skipped)
	for f, m := range got {
		if low(m, words) != tables.Gate[sysOpenat] {
			t.Errorf("evttype: open of %s: mask %v, want the gate's", f, low(m, words).Bits())
			break
		}
	}

	narrow := load(t, &Options{NoSchedEvents: true})
	if err := narrow.SetTables(tables); err == nil {
		t.Fatal("a 256-bit capture took 512-bit tables")
	}
	fit, dropped, folded := narrow.FitTables(tables)
	if !folded || dropped != 0 || fit.MaskWords() != MaskHeadWords {
		t.Fatalf("FitTables: folded %v, dropped %v, %d words", folded, dropped, fit.MaskWords())
	}
	setTables(t, narrow, fit, ModeFull)
	got, skipped = opens(narrow)
	for i, f := range files {
		m, ok := got[f]
		if i%2 == 0 && (!ok && skipped == 0 || ok && !m.Has(i%plan.MaskBits)) {
			t.Errorf("folded: open of %s (clause %d true): sent %v, mask %v", f, i, ok, m.Bits())
		}
	}

	// Tables given to Load are written while the kernel verifies the
	// programs: the capture narrows from its first event.
	pre := load(t, &Options{NoSchedEvents: true, MaskWords: words, Mode: ModeFull, Tables: tables})
	got, skipped = opens(pre)
	exact("tables at load", got, skipped)
	if c, err := Load(&Options{NoSchedEvents: true, Tables: tables}); err == nil || !strings.Contains(err.Error(), "load prefilter tables") {
		if c != nil {
			c.Close()
		}
		t.Errorf("Load of a 256-bit capture with 512-bit tables: %v, want a table error", err)
	}
}

// TestPreemptFlavour: the sys_exit flavour Load picks agrees with the
// fallbacks it reports. With a wide mask on a kernel with the preemption
// kfuncs it tries on_sys_exit_pglobal (global functions under
// bpf_preempt_disable) and reports preempt_global when the verifier
// refuses it and the static copies are loaded instead; with 256 bits, or
// with preempt_global forced off, it loads the static flavour.
func TestPreemptFlavour(t *testing.T) {
	kernel, err := ProbeFeatures()
	if err != nil {
		t.Fatal(err)
	}
	name := func(c *Capture) string {
		info, err := c.objs.OnSysExit.Info()
		if err != nil {
			t.Fatal(err)
		}
		return info.Name
	}
	for _, tc := range []struct {
		what     string
		words    int
		fallback []Feature
	}{
		{"wide", 2 * MaskHeadWords, nil},
		{"narrow", MaskHeadWords, nil},
		{"wide, static forced", 2 * MaskHeadWords, []Feature{FeaturePreemptGlobal}},
	} {
		c := load(t, &Options{NoSchedEvents: true, MaskWords: tc.words, Fallback: tc.fallback})
		got, refused := name(c), slices.Contains(c.Fallbacks(), FeaturePreemptGlobal)
		var want string
		switch {
		case !kernel.Has[FeatureLoop]:
			want = "on_sys_exit_noloop"
		case !kernel.Has[FeaturePreempt]:
			want = "on_sys_exit"
		case tc.words > MaskHeadWords && !refused:
			want = "on_sys_exit_pglobal"
		default:
			want = "on_sys_exit_preempt"
		}
		// A kernel without BTF function names gives 15 bytes of it.
		if got != want && !(len(got) == 15 && strings.HasPrefix(want, got)) {
			t.Errorf("%s: on_sys_exit is %q, want %q (kernel %s, fallbacks %v)", tc.what, got, want, kernel.Release, c.Fallbacks())
		}
		if tc.fallback != nil && kernel.Has[FeaturePreempt] && !refused {
			t.Errorf("%s: preempt_global forced off but not reported: %v", tc.what, c.Fallbacks())
		}
		t.Logf("%s: %s, fallbacks %v", tc.what, got, c.Fallbacks())
		c.Close()
	}
}
