package bench

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
)

// Where a BPF program's time goes, by source line: perf samples the CPU
// (perf record -e cpu-clock -g), and each sample taken inside a BPF
// program, or in a kernel function a BPF program called, is charged to
// the capture.c line of the innermost BPF frame. The kernel maps a JITed
// program's addresses to its source lines (the jited line info), which is
// what [JitLines] reads; [Attribute] does the charging from `perf script
// -F ip,sym` output.

// JitLine is the first JITed address of one source line of a program.
type JitLine struct {
	Addr uint64
	Prog string
	Line string // file:line and the line's text
}

// JitLines returns the JITed line table of every BPF program process pid
// holds, sorted by address.
func JitLines(pid int) ([]JitLine, error) {
	progs, err := agentPrograms(pid)
	if err != nil {
		return nil, err
	}
	var out []JitLine
	for _, p := range progs {
		info, err := p.Info()
		p.Close()
		if err != nil {
			return nil, fmt.Errorf("program info: %w", err)
		}
		lines, err := progLines(info)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	slices.SortFunc(out, func(a, b JitLine) int { return cmp.Compare(a.Addr, b.Addr) })
	return out, nil
}

func progLines(info *ebpf.ProgramInfo) ([]JitLine, error) {
	lis, err := info.LineInfos()
	if err != nil {
		return nil, nil // no BTF line info: nothing to map
	}
	addrs, ok := info.JitedLineInfos()
	if !ok || len(addrs) != len(lis) {
		return nil, fmt.Errorf("program %s: %d jited line addresses for %d lines (needs CAP_SYS_ADMIN and a JITed program)", info.Name, len(addrs), len(lis))
	}
	out := make([]JitLine, len(lis))
	for i, l := range lis {
		out[i] = JitLine{Addr: addrs[i], Prog: info.Name,
			Line: fmt.Sprintf("%s:%d %s", filepath.Base(l.Line.FileName()), l.Line.LineNumber(), strings.TrimSpace(l.Line.Line()))}
	}
	return out, nil
}

// WriteJitLines writes lines as "addr prog line", one a line.
func WriteJitLines(w io.Writer, lines []JitLine) error {
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		fmt.Fprintf(bw, "%x %s %s\n", l.Addr, l.Prog, l.Line)
	}
	return bw.Flush()
}

// ReadJitLines reads what [WriteJitLines] wrote.
func ReadJitLines(r io.Reader) ([]JitLine, error) {
	var out []JitLine
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		f := strings.SplitN(s.Text(), " ", 3)
		if len(f) < 3 {
			return nil, fmt.Errorf("jit lines:%d: want \"addr prog line\"", n)
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("jit lines:%d: %w", n, err)
		}
		out = append(out, JitLine{Addr: a, Prog: f[1], Line: f[2]})
	}
	slices.SortFunc(out, func(a, b JitLine) int { return cmp.Compare(a.Addr, b.Addr) })
	return out, s.Err()
}

// LineShare is the share of all samples charged to one source line.
type LineShare struct {
	Line    string
	Samples int
	Pct     float64
}

// Attribution is what [Attribute] found.
type Attribution struct {
	Samples int // all samples
	Hook    int // samples under the hook (bpf_trace_run*)
	Lines   []LineShare
}

// Attribute reads `perf script -F ip,sym` output (one frame a line,
// innermost first, a blank line between samples) and charges each sample
// taken under a BPF hook (a bpf_trace_run* frame) to the source line of its
// innermost BPF frame, or to "(hook: SYM)" when the sample is in the hook
// itself, outside any program.
func Attribute(r io.Reader, lines []JitLine) (*Attribution, error) {
	a := &Attribution{}
	count := map[string]int{}
	var frames [][2]string // address, symbol
	flush := func() {
		if len(frames) == 0 {
			return
		}
		a.Samples++
		hook := slices.IndexFunc(frames, func(f [2]string) bool { return strings.HasPrefix(f[1], "bpf_trace_run") })
		if hook >= 0 {
			a.Hook++
			key := "(hook: " + frames[0][1] + ")"
			for i, f := range frames[:hook] {
				if !strings.HasPrefix(f[1], "bpf_prog_") {
					continue
				}
				ip, err := strconv.ParseUint(f[0], 16, 64)
				if err != nil {
					break
				}
				if i > 0 {
					ip-- // a return address: the call is before it
				}
				j, _ := slices.BinarySearchFunc(lines, ip+1, func(l JitLine, t uint64) int { return cmp.Compare(l.Addr, t) })
				if j > 0 {
					key = lines[j-1].Line
				} else {
					key = "(no line: " + f[1] + ")"
				}
				break
			}
			count[key]++
		}
		frames = frames[:0]
	}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 0 {
			flush()
			continue
		}
		sym := ""
		if len(f) > 1 {
			sym = f[1]
		}
		frames = append(frames, [2]string{f[0], sym})
	}
	flush()
	if err := s.Err(); err != nil {
		return nil, err
	}
	for k, n := range count {
		a.Lines = append(a.Lines, LineShare{Line: k, Samples: n, Pct: 100 * float64(n) / float64(max(a.Samples, 1))})
	}
	slices.SortFunc(a.Lines, func(x, y LineShare) int {
		return cmp.Or(cmp.Compare(y.Samples, x.Samples), cmp.Compare(x.Line, y.Line))
	})
	return a, nil
}

// Write writes the attribution as a table, top lines first.
func (a *Attribution) Write(w io.Writer, top int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "samples %d, under the BPF hook %d (%.1f%%)\n", a.Samples, a.Hook, 100*float64(a.Hook)/float64(max(a.Samples, 1)))
	for i, l := range a.Lines {
		if top > 0 && i >= top {
			break
		}
		fmt.Fprintf(bw, "%6.2f%%  %s\n", l.Pct, l.Line)
	}
	return bw.Flush()
}
