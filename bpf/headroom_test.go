package bpf

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

var updateHeadroom = flag.Bool("update", false, "rewrite testdata/headroom/<kernel>.txt")

// The verifier's limits, and the share of each a program may use: a
// change that comes within 15% of a limit fails here, on every kernel of
// the matrix, before it fails on a user's node.
const (
	insnLimit    = 1_000_000
	stackLimit   = 512
	headroomPct  = 85
	maxProcessed = insnLimit * headroomPct / 100
	maxStack     = stackLimit * headroomPct / 100
)

// headroom is what the verifier said about one program.
type headroom struct {
	name      string
	processed int            // instructions processed
	depth     map[string]int // stack depth per subprogram
	chain     []string       // the deepest call chain
	stack     int            // its combined stack, as the verifier rounds it
}

func (h headroom) String() string {
	var chain []string
	for _, sub := range h.chain {
		chain = append(chain, fmt.Sprintf("%s:%d", sub, h.depth[sub]))
	}
	return fmt.Sprintf("falcoc-headroom: %s insns=%d stack=%d chain=%s", h.name, h.processed, h.stack,
		strings.Join(chain, ">"))
}

// TestHeadroom loads every program, with this kernel's features, with the
// preemption fallback forced (the flavour of 5.17 to 6.9) and with every
// fallback forced (what 5.10 gets), and reads the verifier's
// figures: instructions processed and stack depth per subprogram, combined
// along the deepest call chain. It fails when a program uses more than 85%
// of a limit. The figures are printed (the kernel matrix collects the
// lines that start with "falcoc-headroom:") and compared with
// testdata/headroom/<uname -r>.txt when that file exists (-update writes
// it), so a change that moves them shows in review.
func TestHeadroom(t *testing.T) {
	testutil.RequireRoot(t)
	kernel, err := ProbeFeatures()
	if err != nil {
		t.Fatal(err)
	}
	if !kernel.BTF {
		testutil.SkipOrFail(t, "kernel has no BTF")
	}
	var lines []string
	// Each flavour with the narrowest mask and with the widest
	// (falcoc_mask_words: the verifier follows the words in use).
	// "/pglobal/widest": on_sys_exit_pglobal, which Load tries for a wide mask
	// where the kernel has the preemption kfuncs; a kernel whose verifier
	// refuses it gets a line that says so (Load then loads the static
	// flavour, "/widest" here).
	pglobal := kernel.Has[FeaturePreempt] && kernel.Has[FeatureLoop]
	for _, variant := range []struct {
		suffix   string
		fallback []Feature
		words    int
		global   bool
	}{
		{"", nil, MaskHeadWords, false}, {"/nopreempt", []Feature{FeaturePreempt}, MaskHeadWords, false}, {"/fallback", AllFeatures, MaskHeadWords, false},
		{"/widest", nil, MaskWordsMax, false}, {"/nopreempt/widest", []Feature{FeaturePreempt}, MaskWordsMax, false}, {"/fallback/widest", AllFeatures, MaskWordsMax, false},
		{"/pglobal/widest", nil, MaskWordsMax, true},
	} {
		if variant.global && !pglobal {
			continue
		}
		figs, err := measureHeadroom(kernel, variant.fallback, variant.words, variant.global)
		if err != nil && variant.global {
			line := "falcoc-headroom: on_sys_exit" + variant.suffix + " refused: " + verifierReason(strings.Split(err.Error(), "\n"))
			if ve := (*ebpf.VerifierError)(nil); errors.As(err, &ve) {
				line = "falcoc-headroom: on_sys_exit" + variant.suffix + " refused: " + verifierReason(ve.Log)
			}
			fmt.Println(line)
			lines = append(lines, line)
			continue
		}
		if err != nil {
			t.Fatalf("%+v", err)
		}
		for _, h := range figs {
			if variant.global && h.name != captureProgOnSysExit {
				continue // the same scheduler programs as without
			}
			h.name += variant.suffix
			fmt.Println(h)
			lines = append(lines, h.String())
			if max := maxProcessed; h.processed > max {
				t.Errorf("%s: %d instructions processed, more than %d (85%% of the verifier's %d)", h.name, h.processed, max, insnLimit)
			}
			if max := maxStack; h.stack > max {
				t.Errorf("%s: combined stack %d along %s, more than %d (85%% of %d)", h.name, h.stack, strings.Join(h.chain, ">"), max, stackLimit)
			}
		}
	}
	sort.Strings(lines)
	got := "# " + kernel.Release + "\n" + strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("testdata", "headroom", kernel.Release+".txt")
	if *updateHeadroom {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if os.IsNotExist(err) {
		t.Logf("no %s: figures not compared (go test ./bpf -run TestHeadroom -update writes it)", golden)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("verifier figures moved (-%s +got); if intended, rerun with -update:\n%s", golden, diff)
	}
}

var (
	processedRe  = regexp.MustCompile(`processed (\d+) insns`)
	stackDepthRe = regexp.MustCompile(`stack depth ([\d+]+)`)
)

// measureHeadroom loads each program of the capture, fitted to kernel with
// the given fallbacks forced and a mask of words words, and returns the
// verifier's figures.
func measureHeadroom(kernel KernelInfo, fallback []Feature, words int, global bool) ([]headroom, error) {
	spec, err := loadCapture()
	if err != nil {
		return nil, err
	}
	if err := sizeMasks(spec, words); err != nil {
		return nil, err
	}
	spec.Maps[captureMapEvents].InnerMap.MaxEntries = 1 << 16
	if _, err := specialize(spec, kernel, fallback, global); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		if global && name != captureProgOnSysExit {
			continue // the scheduler programs do not change
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var out []headroom
	for _, name := range names {
		ps := spec.Programs[name]
		one := spec.Copy()
		one.Programs = map[string]*ebpf.ProgramSpec{name: ps.Copy()}
		coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{
			Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats},
		})
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		log := coll.Programs[name].VerifierLog
		coll.Close()
		h, err := parseHeadroom(name, log, ps.Instructions)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// parseHeadroom reads the statistics of a verifier log. The verifier lists
// the stack depth of each subprogram in the order of the program's
// instructions; insns gives that order and the calls between them.
func parseHeadroom(name, log string, insns asm.Instructions) (headroom, error) {
	h := headroom{name: name, depth: map[string]int{}}
	m := processedRe.FindStringSubmatch(log)
	if m == nil {
		return h, fmt.Errorf("%s: no instruction count in the verifier log:\n%s", name, log)
	}
	h.processed, _ = strconv.Atoi(m[1])
	m = stackDepthRe.FindStringSubmatch(log)
	if m == nil {
		return h, fmt.Errorf("%s: no stack depth in the verifier log:\n%s", name, log)
	}
	depths := strings.Split(m[1], "+")

	// Subprograms in order, and the calls (and callback references) of each.
	var order []string
	calls := map[string][]string{}
	cur := ""
	for _, ins := range insns {
		if sym := ins.Symbol(); sym != "" {
			cur = sym
			order = append(order, sym)
		}
		if ins.IsFunctionCall() || ins.IsLoadOfFunctionPointer() {
			calls[cur] = append(calls[cur], ins.Reference())
		}
	}
	if len(order) != len(depths) {
		return h, fmt.Errorf("%s: %d subprograms but %d stack depths (%s)", name, len(order), len(depths), m[1])
	}
	for i, sub := range order {
		d, err := strconv.Atoi(depths[i])
		if err != nil {
			return h, fmt.Errorf("%s: stack depth %q: %w", name, depths[i], err)
		}
		h.depth[sub] = d
	}
	// The deepest chain; the verifier rounds each frame up to 32 bytes.
	var walk func(sub string, seen map[string]bool) (int, []string)
	walk = func(sub string, seen map[string]bool) (int, []string) {
		if seen[sub] {
			return 0, nil
		}
		seen[sub] = true
		defer delete(seen, sub)
		best, chain := 0, []string(nil)
		for _, callee := range calls[sub] {
			if d, c := walk(callee, seen); d > best {
				best, chain = d, c
			}
		}
		own := (h.depth[sub] + 31) &^ 31
		return own + best, append([]string{sub}, chain...)
	}
	h.stack, h.chain = walk(order[0], map[string]bool{})
	return h, nil
}
