package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
)

// decoded is what reading one line gave.
type decoded struct {
	Line int
	Ev   event.Event
	Ctx  event.ProcContext
	Err  string
}

var decodedOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.EquateComparable(netip.AddrPort{}),
	cmp.Comparer(func(a, b *catalog.Event) bool { return a == b }),
}

// snapshot copies ev so that reusing ev does not change the copy.
func snapshot(ev *event.Event) event.Event {
	c := *ev
	c.Params = make([]event.Param, len(ev.Params))
	for i, p := range ev.Params {
		p.B = bytes.Clone(p.B)
		c.Params[i] = p
	}
	return c
}

// readFast reads text with the Reader as it is, into one reused Event.
func readFast(text string) []decoded {
	r := NewReader(strings.NewReader(text))
	var out []decoded
	var ev event.Event
	var ctx event.ProcContext
	for {
		err := r.Next(&ev, &ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		d := decoded{Line: r.Line()}
		if err != nil {
			d.Err = err.Error()
		} else {
			d.Ev, d.Ctx = snapshot(&ev), ctx
		}
		out = append(out, d)
		if err != nil && r.stick != nil {
			return out
		}
	}
}

// readRef reads text as the Reader did before the fast decoder: lines
// from a bufio.Scanner, every line through encoding/json (decodeSlow), a
// fresh Event per line.
func readRef(text string) []decoded {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	r := &Reader{slowOnly: true}
	var out []decoded
	for sc.Scan() {
		r.line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		d := decoded{Line: r.line}
		if err := r.decodeSlow(b, &d.Ev, &d.Ctx); err != nil {
			d.Err = err.Error()
			d.Ev, d.Ctx = event.Event{}, event.ProcContext{}
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		d := decoded{Line: r.line}
		if errors.Is(err, bufio.ErrTooLong) {
			d.Err = (&LineError{Line: r.line + 1, Err: fmt.Errorf("line longer than %d bytes", MaxLine)}).Error()
		} else {
			d.Err = fmt.Errorf("read replay: %w", err).Error()
		}
		out = append(out, d)
	}
	return out
}

// checkLine decodes one line both ways and fails t when they differ. It
// reports whether the fast decoder took the line.
func checkLine(t testing.TB, line string) bool {
	t.Helper()
	b := bytes.TrimSpace([]byte(line))
	if len(b) == 0 || b[0] == '#' {
		return false
	}
	slow := &Reader{line: 7, num: 41, slowOnly: true}
	var want event.Event
	wantErr := slow.decodeSlow(b, &want, &event.ProcContext{})

	fast := NewReader(strings.NewReader(""))
	fast.line, fast.num = 7, 41
	var got event.Event
	got.Reset(mustEventTB(t, "execve")) // stale content must not leak
	got.Params[1].B = append(got.Params[1].B, "stale"...)
	if !fast.decodeFast(b, &got) {
		if fast.num != 41 {
			t.Errorf("line %s: the fast decoder gave up but changed num to %d", line, fast.num)
		}
		return false
	}
	if wantErr != nil {
		t.Errorf("line %s: fast decoder accepted it, encoding/json says %v", line, wantErr)
		return true
	}
	if d := cmp.Diff(want, got, decodedOpts); d != "" {
		t.Errorf("line %s: fast decoder (-slow +fast):\n%s", line, d)
	}
	if fast.num != slow.num {
		t.Errorf("line %s: num %d after the fast decoder, %d after the slow one", line, fast.num, slow.num)
	}
	return true
}

func mustEventTB(t testing.TB, name string) *catalog.Event {
	t.Helper()
	info, ok := catalog.EventByName(name)
	if !ok {
		t.Fatalf("no event %q", name)
	}
	return info
}

// corpus returns every replay text in the repository: the events.jsonl
// sections of txtar archives, *.jsonl files, jsonl blocks of the docs and
// JSON-looking lines of Go tests.
func corpus(t testing.TB) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string]string{"sampleTrace": sampleTrace}
	jsonLine := regexp.MustCompile(`\{"[^` + "`" + `]*\}`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".txtar" && ext != ".jsonl" && ext != ".md" && !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		switch {
		case ext == ".jsonl":
			out[path] = text
		case ext == ".txtar":
			for i, sec := range strings.Split(text, "\n-- ") {
				name, body, ok := strings.Cut(sec, " --\n")
				if ok && strings.HasSuffix(name, ".jsonl") {
					out[fmt.Sprintf("%s#%d", path, i)] = body
				}
			}
		case ext == ".md":
			for i, blk := range strings.Split(text, "```jsonl\n")[1:] {
				body, _, _ := strings.Cut(blk, "```")
				out[fmt.Sprintf("%s#%d", path, i)] = body
			}
		default:
			var lines []string
			for _, l := range strings.Split(text, "\n") {
				if m := jsonLine.FindString(l); m != "" && strings.Contains(m, `"type"`) {
					lines = append(lines, m)
				}
			}
			if lines != nil {
				out[path] = strings.Join(lines, "\n")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusFastMatchesSlow reads every trace of the repository with the
// Reader and with the reference (bufio.Scanner + encoding/json).
func TestCorpusFastMatchesSlow(t *testing.T) {
	docs := corpus(t)
	lines, fast := 0, 0
	for name, text := range docs {
		if d := cmp.Diff(readRef(text), readFast(text), decodedOpts); d != "" {
			t.Errorf("%s (-ref +reader):\n%s", name, d)
		}
		for l := range strings.SplitSeq(text, "\n") {
			if checkLine(t, l) {
				fast++
			}
			lines++
		}
	}
	// The corpus is mostly ordinary lines: the fast decoder must take
	// them, or this test compares the slow decoder with itself.
	if len(docs) < 100 || fast < lines/4 {
		t.Errorf("%d traces, %d lines, %d decoded fast: want >= 100 traces and a quarter fast", len(docs), lines, fast)
	}
	t.Logf("%d traces, %d lines, %d decoded fast", len(docs), lines, fast)
}

// lineGen generates random replay lines.
type lineGen struct {
	r *rand.Rand
	// common is cleared when the line uses a shape the fast decoder
	// leaves to encoding/json.
	common bool
	events []*catalog.Event
}

func newLineGen(seed uint64) *lineGen {
	g := &lineGen{r: rand.New(rand.NewPCG(seed, 1))}
	for _, e := range catalog.Events() {
		if info, ok := catalog.EventByName(e.Name); ok && info == e && len(e.Params) < 64 {
			g.events = append(g.events, e)
		}
	}
	return g
}

func (g *lineGen) pick(n int) int { return g.r.IntN(n) }

func (g *lineGen) rare() { g.common = false }

func (g *lineGen) ws() string {
	return []string{"", "", "", " ", "  ", "\t"}[g.pick(6)]
}

// str returns a random JSON string, escaped in random ways.
func (g *lineGen) str() string {
	pieces := []string{"/etc/passwd", "bash", "a b", "", "é", "日本", `\"`, `\\`, `\/`, `\n`, `\t`, `\u00e9`,
		`\u003c`, `<>&`, "x=y", "/tmp/", "-c", `\u0000`}
	var sb strings.Builder
	sb.WriteByte('"')
	for range g.pick(5) {
		sb.WriteString(pieces[g.pick(len(pieces))])
	}
	if g.pick(30) == 0 {
		sb.WriteString(`\ud83d\ude00`) // a surrogate pair
		g.rare()
	}
	sb.WriteByte('"')
	return sb.String()
}

func (g *lineGen) int() int64 {
	switch g.pick(5) {
	case 0:
		return 0
	case 1:
		return -int64(g.pick(200))
	case 2:
		return g.r.Int64()
	case 3:
		return -g.r.Int64()
	}
	return int64(g.pick(70000))
}

// value returns a random JSON value for parameter p.
func (g *lineGen) value(p *catalog.Param) string {
	switch kindOf(p.Type) {
	case kindSigned:
		switch g.pick(5) {
		case 0:
			return strconv.Quote(fmt.Sprintf("%#x", g.pick(1000)))
		case 1:
			if p.Type == catalog.ParamFD {
				return `"AT_FDCWD"`
			}
		case 2:
			if p.Type == catalog.ParamFD || p.Type == catalog.ParamErrno {
				return `"` + []string{"ENOENT", "EACCES", "EPERM"}[g.pick(3)] + `"`
			}
		}
		return strconv.FormatInt(g.int(), 10)
	case kindString:
		return g.str()
	case kindBytes:
		switch g.pick(4) {
		case 0:
			return g.str()
		case 1:
			g.rare()
			return `{"base64": "AAEC"}`
		}
		var el []string
		for range g.pick(4) {
			el = append(el, g.str())
		}
		return "[" + strings.Join(el, ","+g.ws()) + "]"
	case kindSockAddr:
		addrs := []string{`"1.2.3.4:80"`, `"[::1]:443"`, `"/run/x.sock"`, `"@abstract"`, `"unix:name"`, `""`}
		if g.pick(10) == 0 {
			g.rare()
			return `"::1:80"`
		}
		return addrs[g.pick(len(addrs))]
	case kindTuple:
		tuples := []string{`"10.0.0.1:5000->93.184.216.34:443"`, `"[fe80::1]:1->[::1]:2"`, `"/run/y"`, `"unix:z"`}
		if g.pick(10) == 0 {
			g.rare()
			return `"::1:5->::2:6"`
		}
		return tuples[g.pick(len(tuples))]
	case kindIP:
		return []string{`"1.2.3.4"`, `"::1"`, `"fe80::1"`}[g.pick(3)]
	case kindDouble:
		g.rare()
		return "1.5"
	case kindBool:
		return []string{"true", "false", "1", "0"}[g.pick(4)]
	case kindAbsTime:
		if g.pick(4) == 0 {
			g.rare()
			return `"2026-01-02T03:04:05Z"`
		}
		return strconv.FormatUint(g.r.Uint64()>>1, 10)
	}
	// Unsigned.
	if p.Type == catalog.ParamSigType && g.pick(2) == 0 {
		return `"` + []string{"SIGKILL", "SIGTERM", "SIGHUP"}[g.pick(3)] + `"`
	}
	if known := event.FlagsOf(p).Names(); len(known) > 0 && g.pick(2) == 0 {
		var names []string
		for range 1 + g.pick(3) {
			names = append(names, known[g.pick(len(known))])
		}
		if g.pick(5) == 0 {
			names = append(names, strconv.Itoa(g.pick(64)))
		}
		if len(names) > 0 {
			return `"` + strings.Join(names, []string{"|", " | "}[g.pick(2)]) + `"`
		}
	}
	switch g.pick(4) {
	case 0:
		return strconv.Quote(fmt.Sprintf("%#o", g.pick(1000)))
	case 1:
		return strconv.FormatInt(g.int(), 10)
	}
	return strconv.FormatUint(g.r.Uint64()>>g.pick(64), 10)
}

func (g *lineGen) ts() string {
	switch g.pick(4) {
	case 0:
		return strconv.FormatInt(g.int(), 10)
	case 1:
		g.rare()
		return `"2026-03-01T10:00:00+02:00"`
	}
	t := time.Unix(g.r.Int64N(1<<35)-1<<34, g.r.Int64N(1e9)).UTC()
	layout := "2006-01-02T15:04:05" + []string{"", ".0", ".000", ".000000", ".000000000", ".999999999"}[g.pick(6)] + "Z"
	return `"` + t.Format(layout) + `"`
}

// line returns a random valid replay line and whether it is of a shape
// the fast decoder must take.
func (g *lineGen) line() (string, bool) {
	g.common = true
	info := g.events[g.pick(len(g.events))]
	var keys []string
	kv := func(k, v string) { keys = append(keys, `"`+k+`":`+g.ws()+v) }
	kv("tid", strconv.FormatInt(g.int(), 10))
	if g.pick(2) == 0 {
		kv("pid", strconv.FormatInt(g.int(), 10))
	}
	if g.pick(2) == 0 {
		kv("ts", g.ts())
	}
	if g.pick(4) == 0 {
		kv("cpu", strconv.Itoa(g.pick(64)))
	}
	if g.pick(4) == 0 {
		kv("num", strconv.Itoa(g.pick(1000)))
	}
	ri := event.RetParam(info)
	res := ""
	if g.pick(2) == 0 {
		res = strconv.FormatInt(g.int(), 10)
	}
	var args []string
	for i := range info.Params {
		p := &info.Params[i]
		if g.pick(3) == 0 || i == ri && res != "" {
			continue
		}
		args = append(args, `"`+p.Name+`":`+g.ws()+g.value(p))
	}
	g.r.Shuffle(len(args), func(i, j int) { args[i], args[j] = args[j], args[i] })
	if res != "" {
		kv("res", res)
	}
	g.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	head := []string{`"type":` + g.ws() + `"` + info.Name + `"`}
	keys = append(head, keys...)
	if len(args) > 0 || g.pick(2) == 0 {
		obj := "{" + g.ws() + strings.Join(args, ","+g.ws()) + g.ws() + "}"
		at := 1 + g.pick(len(keys))
		if g.pick(10) == 0 {
			at = 0 // before the type: left to encoding/json
			g.rare()
		}
		keys = append(keys[:at], append([]string{`"args":` + g.ws() + obj}, keys[at:]...)...)
	}
	if g.pick(20) == 0 {
		keys = append(keys, `"proc":{"comm":"sh"}`)
		g.rare()
	}
	return g.ws() + "{" + g.ws() + strings.Join(keys, ","+g.ws()) + g.ws() + "}" + g.ws(), g.common
}

// mutate damages line in a random way.
func (g *lineGen) mutate(line string) string {
	b := []byte(line)
	for range 1 + g.pick(3) {
		if len(b) == 0 {
			break
		}
		i := g.pick(len(b))
		switch g.pick(5) {
		case 0:
			b = append(b[:i], b[i+1:]...)
		case 1:
			c := `{}[]",:\-0123456789.eE+ntfu` + "\x00\x7f\xc3\xff "
			b = append(b[:i], append([]byte{c[g.pick(len(c))]}, b[i:]...)...)
		case 2:
			j := g.pick(len(b))
			b[i], b[j] = b[j], b[i]
		case 3:
			b[i] = byte(g.pick(256))
		case 4:
			j := i + g.pick(len(b)-i)
			b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
		}
	}
	return string(b)
}

func TestGeneratedFastMatchesSlow(t *testing.T) {
	g := newLineGen(1)
	n := 4000
	if testing.Short() {
		n = 500
	}
	var text strings.Builder
	took, common := 0, 0
	for range n {
		l, isCommon := g.line()
		if isCommon {
			common++
		}
		if checkLine(t, l) {
			took++
		} else if isCommon {
			slowErr := (&Reader{slowOnly: true}).decodeSlow(bytes.TrimSpace([]byte(l)), &event.Event{}, &event.ProcContext{})
			if slowErr == nil {
				t.Errorf("fast decoder left an ordinary line to encoding/json: %s", l)
			}
		}
		m := g.mutate(l)
		checkLine(t, m)
		text.WriteString(l + "\n" + m + "\n")
	}
	if d := cmp.Diff(readRef(text.String()), readFast(text.String()), decodedOpts); d != "" {
		t.Errorf("reading the generated trace (-ref +reader):\n%s", d)
	}
	if took < common/2 {
		t.Errorf("fast decoder took %d of %d lines (%d ordinary)", took, n, common)
	}
	t.Logf("fast decoder took %d of %d valid lines (%d ordinary)", took, n, common)
}

func FuzzReplayFast(f *testing.F) {
	for _, text := range corpus(f) {
		for l := range strings.SplitSeq(text, "\n") {
			f.Add(l)
		}
	}
	g := newLineGen(2)
	for range 200 {
		l, _ := g.line()
		f.Add(l)
		f.Add(g.mutate(l))
	}
	f.Fuzz(func(t *testing.T, line string) {
		checkLine(t, line)
		// The second line is followed by a newline, as a template decodes
		// lines in the Reader's buffer; the third is the last, without.
		text := line + "\n" + line + "\n" + line
		if d := cmp.Diff(readRef(text), readFast(text), decodedOpts); d != "" {
			t.Errorf("(-ref +reader):\n%s", d)
		}
	})
}

func TestParseRFC3339(t *testing.T) {
	tests := []string{
		"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.123456789Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2024-02-29T12:00:00Z", "2000-02-29T00:00:00Z", "1600-03-01T00:00:00Z",
		// Not taken: left to time.Parse.
		"2023-02-29T12:00:00Z", "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-32T00:00:00Z",
		"2026-01-02T24:00:00Z", "2026-01-02T23:60:00Z", "2026-01-02T23:59:60Z", "2026-01-02T03:04:05.Z",
		"2026-01-02T03:04:05.1234567891Z", "2026-01-02t03:04:05Z", "2026-01-02T03:04:05z",
		"2026-01-02T03:04:05+00:00", "2026-1-02T03:04:05Z", "+026-01-02T03:04:05Z", "2026-01-02T03:04:05,5Z",
	}
	for _, s := range tests {
		t.Run(s, func(t *testing.T) {
			checkRFC3339(t, s)
		})
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		tm := time.Unix(r.Int64N(400*365*86400)-200*365*86400, r.Int64N(1e9)).UTC()
		checkRFC3339(t, tm.Format(time.RFC3339Nano))
	}
}

// checkRFC3339 fails when parseRFC3339 takes s and time.Parse does not
// agree.
func checkRFC3339(t *testing.T, s string) {
	t.Helper()
	got, ok := parseRFC3339([]byte(s))
	if !ok {
		return
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("parseRFC3339(%q) = %d, time.Parse: %v", s, got, err)
		return
	}
	if want := tm.UnixNano(); got != want {
		t.Errorf("parseRFC3339(%q) = %d, want %d", s, got, want)
	}
}

// TestRFC3339Taken checks that the ordinary forms take the fast way.
func TestRFC3339Taken(t *testing.T) {
	for _, s := range []string{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123Z", "1969-07-20T20:17:40.000000001Z"} {
		if _, ok := parseRFC3339([]byte(s)); !ok {
			t.Errorf("parseRFC3339(%q) gave up", s)
		}
	}
}

func TestReaderLongLines(t *testing.T) {
	ok := `{"type": "close", "tid": 1, "res": 0}`
	tests := []struct {
		name string
		text string
		want []decoded
	}{
		{
			name: "just fits",
			text: "#" + strings.Repeat("x", MaxLine-2) + "\n" + ok + "\n",
			want: []decoded{{Line: 2}},
		},
		{
			name: "too long",
			text: ok + "\n#" + strings.Repeat("x", MaxLine-1) + "\n" + ok + "\n",
			want: []decoded{{Line: 1}, {Line: 1, Err: "line 2: line longer than 16777216 bytes"}},
		},
		{
			name: "too long at the end",
			text: "#" + strings.Repeat("x", MaxLine+10),
			want: []decoded{{Line: 0, Err: "line 1: line longer than 16777216 bytes"}},
		},
		{
			name: "longer than the buffer",
			text: "#" + strings.Repeat("x", 200<<10) + "\n" + `{"type": "close", "tid": 1, "args": {"res": 0}, "x": "` + strings.Repeat("y", 100<<10) + `"}` + "\n" + ok,
			want: []decoded{{Line: 2, Err: "line 2: x: unknown key"}, {Line: 3}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := readFast(tc.text)
			if d := cmp.Diff(readRef(tc.text), got, decodedOpts); d != "" {
				t.Errorf("(-ref +reader):\n%s", d)
			}
			opts := append(decodedOpts, cmpopts.IgnoreFields(decoded{}, "Ev", "Ctx"))
			if d := cmp.Diff(tc.want, got, opts); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// failingReader returns data, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(&failingReader{data: []byte("{\"type\": \"close\", \"tid\": 1}\n{\"type\": \"close\", \"tid\": 2}"), err: boom})
	var ev event.Event
	var got []string
	for range 4 {
		err := r.Next(&ev, nil)
		if err != nil {
			got = append(got, err.Error())
			if !errors.Is(err, boom) {
				t.Errorf("error %v does not wrap boom", err)
			}
			continue
		}
		got = append(got, fmt.Sprintf("tid %d", ev.Tid))
	}
	want := []string{"tid 1", "tid 2", "read replay: boom", "read replay: boom"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestReaderStrings checks that strings the Reader returned stay as they
// were after later lines: the state tables keep them.
func TestReaderStrings(t *testing.T) {
	text := `{"type": "openat", "tid": 1, "args": {"name": "/etc/a\u00e9"}}
{"type": "openat", "tid": 1, "args": {"name": "/etc/b\n"}}
{"type": "openat", "tid": 1, "args": {"name": "/etc/cc"}}
{"type": "openat", "tid": 1, "args": {"name": "/etc/a\u00e9"}}
`
	r := NewReader(strings.NewReader(text))
	var ev event.Event
	var names []string
	for r.Next(&ev, nil) == nil {
		s, _ := ev.Str("name")
		names = append(names, s)
	}
	want := []string{"/etc/aé", "/etc/b\n", "/etc/cc", "/etc/aé"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestReaderNextAllocs checks that ordinary lines decode without
// allocating once the Reader has seen their strings.
func TestReaderNextAllocs(t *testing.T) {
	for _, bc := range benchLines {
		t.Run(bc.name, func(t *testing.T) {
			r := NewReader(&cycleReader{data: []byte(bc.line + "\n")})
			var ev event.Event
			if err := r.Next(&ev, nil); err != nil {
				t.Fatal(err)
			}
			if !r.decodeFast(bytes.TrimSpace([]byte(bc.line)), &ev) {
				t.Fatalf("the fast decoder does not take %s", bc.line)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if err := r.Next(&ev, nil); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Next allocates %v times per line", allocs)
			}
		})
	}
}

// cycleReader repeats data forever.
type cycleReader struct {
	data []byte
	off  int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}

var benchLines = []struct{ name, line string }{
	{"openat", `{"ts":1,"type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":"/home/user/notes.txt","flags":"O_RDONLY"}}`},
	{"openat_rfc3339", `{"ts": "2026-03-01T10:00:00.000200Z", "type": "openat", "tid": 4243, "res": 3, "args": {"dirfd": "AT_FDCWD", "name": "/etc/shadow", "flags": "O_RDONLY|O_CLOEXEC"}}`},
	{"execve", `{"ts":8,"type":"execve","tid":100,"res":0,"args":{"exe":"ls","args":["-l","/tmp"],"filename":"/bin/ls","env":["HOME=/root","PATH=/usr/bin"]}}`},
	{"connect", `{"ts":9,"type":"connect","tid":900,"res":0,"args":{"fd":5,"tuple":"172.17.0.2:51000->203.0.113.7:4444"}}`},
	{"escapes", `{"ts":10,"type":"openat","tid":7,"res":-2,"args":{"name":"/tmp/a \"quoted\"\tname\u00e9","flags":524288}}`},
}

// BenchmarkReaderNext measures Reader.Next per line on ordinary lines.
func BenchmarkReaderNext(b *testing.B) {
	for _, bc := range benchLines {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(&cycleReader{data: []byte(bc.line + "\n")})
			var ev event.Event
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.line) + 1))
			n := 0
			for b.Loop() {
				if err := r.Next(&ev, nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkReaderNextSlow is BenchmarkReaderNext through encoding/json,
// for comparison.
func BenchmarkReaderNextSlow(b *testing.B) {
	for _, bc := range benchLines {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(&cycleReader{data: []byte(bc.line + "\n")})
			r.slowOnly = true
			var ev event.Event
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.line) + 1))
			n := 0
			for b.Loop() {
				if err := r.Next(&ev, nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// TestFastTricky lists lines at the edges of what the fast decoder takes:
// each must decode as encoding/json does, and the fast decoder must take
// exactly the ones marked.
func TestFastTricky(t *testing.T) {
	tests := []struct {
		line string
		fast bool
	}{
		{`{"type":"openat","tid":1}`, true},
		{` {"type" : "openat" , "tid" : -0 , "args" : { } } `, true},
		{`{"type":"openat","tid":1,"args":{"name":"a\"b\\c\/d\u00e9\u0000\n"}}`, true},
		{`{"type":"openat","tid":1,"args":{"name":"\ud83d\ude00"}}`, false},
		{`{"type":"openat","tid":1,"args":{"name":"bad` + "\xff" + `"}}`, false},
		{`{"type":"openat","tid":1,"args":{"name":"ctl` + "\x01" + `"}}`, false},
		{`{"type":"openat","tid":1,"args":{"flags":"O_RDONLY\u007cO_CREAT"}}`, true},
		{`{"type":"openat","tid":1,"args":{"flags":" O_WRONLY | 0x40 "}}`, true},
		{`{"type":"openat","tid":1,"args":{"flags":"1|O_CREAT"}}`, true},
		{`{"type":"openat","tid":1,"args":{"flags":"O_RDONLY|"}}`, false},
		{`{"type":"openat","tid":1,"args":{"flags":"O_NONE"}}`, false},
		{`{"type":"openat","tid":1,"args":{"flags":18446744073709551615}}`, true},
		{`{"type":"openat","tid":1,"args":{"flags":18446744073709551616}}`, false},
		{`{"type":"openat","tid":1,"args":{"flags":-1}}`, true},
		{`{"type":"openat","tid":1,"args":{"dirfd":"-0x10"}}`, true},
		{`{"type":"openat","tid":1,"args":{"dirfd":"+7"}}`, true},
		{`{"type":"openat","tid":1,"args":{"fd":"ENOENT"},"res":-2}`, true},
		{`{"type":"openat","tid":1,"args":{"fd":1e3}}`, false},
		{`{"type":"openat","tid":1,"args":{"fd":1.0}}`, false},
		{`{"type":"openat","tid":1,"args":{"fd":01}}`, false},
		{`{"type":"openat","tid":1,"args":{"fd":null}}`, false},
		{`{"type":"openat","tid":1,"args":{"fd":3,"fd":4}}`, false},
		{`{"type":"openat","tid":1,"tid":2}`, false},
		{`{"type":"openat","TID":1}`, false},
		{`{"tid":1,"args":{"fd":3},"type":"openat"}`, false},
		{`{"type":"openat","tid":9223372036854775807,"pid":-9223372036854775808}`, true},
		{`{"type":"openat","tid":9223372036854775808}`, false},
		{`{"type":"openat","tid":1,"num":0,"cpu":3}`, true},
		{`{"type":"openat","tid":1,"num":-1}`, false},
		{`{"type":"openat","tid":1} }`, false},
		{`{"type":"openat","tid":1}x`, false},
		{`{"type":"openat","tid":1,}`, false},
		{`{"type":"openat","tid":1,"ts":"2026-01-02T03:04:05.5Z"}`, true},
		{`{"type":"openat","tid":1,"ts":"2026-01-02T03:04:05+01:00"}`, false},
		{`{"type":"openat","tid":1,"ts":null}`, false},
		{`{"type":"connect","tid":1,"args":{"tuple":"::1:40001->2001:db8::1:53","addr":"2001:db8::1:53"}}`, true},
		{`{"type":"connect","tid":1,"args":{"tuple":"[::1]:1->[::2]:70000"}}`, false},
		{`{"type":"connect","tid":1,"args":{"tuple":"unix:/x","addr":""}}`, true},
		{`{"type":"connect","tid":1,"args":{"addr":"::ffff:1.2.3.4:80"}}`, true},
		{`{"type":"execve","tid":1,"args":{"args":[],"env":[ "A=1" , "B=\u00e9" ]}}`, true},
		{`{"type":"execve","tid":1,"args":{"args":[null]}}`, false},
		{`{"type":"execve","tid":1,"args":{"args":[1]}}`, false},
		{`{"type":"procexit","tid":1,"args":{"sig":"SIGKILL","status":"0x100"}}`, true},
		{`{"type":"procexit","tid":1,"args":{"sig":"SIGNOPE"}}`, false},
		{`{"type":"openat","tid":1,"res":3,"args":{"fd":3}}`, true},
		{`{"type":"openat","tid":1,"res":3,"args":{"fd":4}}`, false},
		{`{"type":"close","tid":1,"res":3,"args":{"fd":4}}`, true},
		{`{"type":"openat","tid":1,"proc":{"comm":"sh"}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			if got := checkLine(t, tc.line); got != tc.fast {
				t.Errorf("fast decoder took it: %v, want %v", got, tc.fast)
			}
		})
	}
}

// TestHasSpecial checks the eight-byte test against strSpecial, for every
// byte value at every position among plain bytes and for random words.
func TestHasSpecial(t *testing.T) {
	want := func(x uint64) bool {
		for range 8 {
			if strSpecial[byte(x)] {
				return true
			}
			x >>= 8
		}
		return false
	}
	const plain = 0x6161616161616161 // "aaaaaaaa"
	for pos := range 8 {
		for c := range 256 {
			x := plain&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
			if got := hasSpecial(x); got != want(x) {
				t.Fatalf("hasSpecial(%#016x) = %v, want %v", x, got, want(x))
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1 << 20 {
		x := r.Uint64()
		if i%2 == 0 {
			x &= 0x7f7f7f7f7f7f7f7f // ASCII only, where the tricks are subtle
		}
		if got := hasSpecial(x); got != want(x) {
			t.Fatalf("hasSpecial(%#016x) = %v, want %v", x, got, want(x))
		}
	}
}

// TestScannerInt64 checks the one-pass integer reader against the general
// one, on where each stops as well as on the value.
func TestScannerInt64(t *testing.T) {
	type result struct {
		N    int64
		OK   bool
		Next int
	}
	inputs := []string{
		"0", "-0", "7", "-7", "12,", "123456789012345678", "-123456789012345678",
		"1234567890123456789", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "99999999999999999999",
		"01", "-01", "-", "", "x", "1.5", "1e3", "2E3", "15}", "-5]", "00",
		"12345678", "123456789", "12345678.5", "1234567e1", "-12345678}", "0123456789",
		"100000000000000000", "999999999999999999,", "1000000000000000000,",
	}
	// The same numbers followed by enough bytes for the eight-byte reads,
	// and random digit runs of every length with every following byte.
	for _, in := range inputs[:len(inputs):len(inputs)] {
		inputs = append(inputs, in+`,"key":1}`, in+"\xff\xfa\x00.......")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b []byte
		if r.IntN(4) == 0 {
			b = append(b, '-')
		}
		for range r.IntN(22) {
			b = append(b, byte('0'+r.IntN(10)))
		}
		for range r.IntN(10) {
			b = append(b, byte(r.IntN(256)))
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		fast := scanner{b: []byte(in)}
		slow := scanner{b: []byte(in)}
		n1, ok1 := fast.int64()
		n2, ok2 := slow.int64Slow()
		got := result{n1, ok1, fast.i}
		want := result{n2, ok2, slow.i}
		if !ok2 {
			got.Next, want.Next = 0, 0 // the caller gives up on the line
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("int64(%q) (-general +one-pass):\n%s", in, d)
		}
	}
}

// TestInterner checks that the interner gives back equal strings, the
// same string for the same bytes (from its cache or its map), and starts
// over when full.
func TestInterner(t *testing.T) {
	in := newInterner()
	words := []string{"", "a", "/etc/passwd", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/tmp/file1.so", "/tmp/file2.so", "/var/file1.so"}
	first := map[string]string{}
	for round := range 3 {
		for _, w := range words {
			got := in.get([]byte(w))
			if got != w {
				t.Fatalf("round %d: get(%q) = %q", round, w, got)
			}
			if f, ok := first[w]; ok && w != "" && unsafe.StringData(f) != unsafe.StringData(got) {
				t.Errorf("round %d: get(%q) gave a new copy", round, w)
			}
			first[w] = got
		}
		// Evict the cache entries: the map still has the strings.
		clear(in.recent[:])
		clear(in.tags[:])
	}
	big := strings.Repeat("x", internMaxLen)
	for i := range internMaxBytes/internMaxLen + 1 {
		in.get([]byte(big[:len(big)-i]))
	}
	if in.bytes > internMaxBytes {
		t.Errorf("interner holds %d bytes, above the bound %d", in.bytes, internMaxBytes)
	}
}

// TestScannerKey checks the quick key reader against plainString on
// random strings of quotes, backslashes, control and non-ASCII bytes.
func TestScannerKey(t *testing.T) {
	type result struct {
		V    string
		OK   bool
		Next int
	}
	alphabet := []byte{'"', '"', '\\', 'a', 'b', '_', '1', ':', 0x01, 0x1f, 0xc3, 0xa9, 0xff}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		b := make([]byte, 1+r.IntN(20))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if r.IntN(2) == 0 {
			b[0] = '"'
		}
		fast := scanner{b: b}
		ref := scanner{b: b}
		v1, ok1 := fast.key()
		v2, ok2 := ref.plainString()
		got, want := result{string(v1), ok1, fast.i}, result{string(v2), ok2, ref.i}
		if !ok2 {
			got, want = result{OK: ok1}, result{} // the line is given up
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("key(%q) (-plainString +key):\n%s", b, d)
		}
	}
}

// TestScannerTopKey checks the one-word match of a line's keys against
// reading the key, white space and the colon.
func TestScannerTopKey(t *testing.T) {
	type result struct {
		Key  string
		OK   bool
		Next int
	}
	var inputs []string
	for _, k := range []string{"ts", "type", "tid", "res", "args", "pid", "cpu", "num", "proc", "TS", "tsx", "typ", "", "t\\u0073"} {
		for _, rest := range []string{`:1,"x":2}`, ` :1}`, `:`, `"`, `:{"a":1}`, ":\"abcdefgh\"}"} {
			inputs = append(inputs, `"`+k+`"`+rest)
		}
	}
	for _, in := range inputs {
		fast := scanner{b: []byte(in)}
		ref := scanner{b: []byte(in)}
		k1, ok1 := fast.topKey()
		k2, ok2 := ref.key()
		ref.ws()
		ok2 = ok2 && ref.lit(':')
		got, want := result{string(k1), ok1, fast.i}, result{string(k2), ok2, ref.i}
		if !ok2 {
			got, want = result{OK: ok1}, result{}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("topKey(%q) (-reference +topKey):\n%s", in, d)
		}
	}
}

// TestIPv4Port: what ipv4Port accepts, netip.ParseAddrPort parses to the
// same value.
func TestIPv4Port(t *testing.T) {
	in := []string{"1.2.3.4:80", "0.0.0.0:0", "255.255.255.255:65535", "10.0.0.5:40000", "1.2.3.4:65536",
		"01.2.3.4:80", "1.2.3.4:080", "1.2.3:80", "1.2.3.4.5:80", "1.2.3.256:80", "1..3.4:80", ".1.2.3:80",
		"1.2.3.4:", "1.2.3.4:8a", "1.2.3.4:123456", "a.b.c.d:1", "1.2.3.4 :80", "-1.2.3.4:5", "1.2.3.4:+8"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var b []byte
		for k := range 4 {
			if k > 0 {
				b = append(b, '.')
			}
			b = strconv.AppendInt(b, int64(r.IntN(300)), 10)
		}
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(r.IntN(70000)), 10)
		in = append(in, string(b))
	}
	took := 0
	for _, s := range in {
		i := strings.LastIndexByte(s, ':')
		got, ok := ipv4Port(s, i)
		if !ok {
			continue
		}
		took++
		want, err := netip.ParseAddrPort(s)
		if err != nil || got != want {
			t.Errorf("%q: ipv4Port %v, netip %v, %v", s, got, want, err)
		}
	}
	if took < 500 {
		t.Errorf("ipv4Port took %d of %d", took, len(in))
	}
}

// TestSpecialBytesFirst: the lowest bit specialBytes sets is that of the
// first special byte (rawString skips to it).
func TestSpecialBytesFirst(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 1 << 20 {
		x := r.Uint64()
		if i%2 == 0 {
			x &= 0x7f7f7f7f7f7f7f7f
		}
		if i%4 == 1 {
			x |= 0x4040404040404040 // mostly plain letters, a special byte now and then
		}
		want := 8
		for k := range 8 {
			if strSpecial[byte(x>>(8*k))] {
				want = k
				break
			}
		}
		got := 8
		if z := specialBytes(x); z != 0 {
			got = bits.TrailingZeros64(z) >> 3
		}
		if got != want {
			t.Fatalf("specialBytes(%#016x): first special byte %d, want %d", x, got, want)
		}
	}
}
