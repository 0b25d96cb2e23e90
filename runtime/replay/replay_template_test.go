package replay

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/event"
)

// oddValues are values put in place of a line's values to try the
// templates with: every JSON type, numbers the fast decoder refuses,
// strings with escapes, values of the wrong type for the parameter.
var oddValues = []string{
	`0`, `-1`, `7`, `-0`, `01`, `1.5`, `1e3`, `-`, `99999999999999999999`, `9223372036854775808`,
	`""`, `"x"`, `"/etc/passwd"`, `"a\"b"`, `"\u00e9"`, `"\ud83d\ude00"`, `"AT_FDCWD"`, `"ENOENT"`, `"O_RDONLY|O_CLOEXEC"`,
	`"O_WRONLY|O_NOPE"`, `"0x10"`, `"1.2.3.4:80"`, `"10.0.0.5:1->10.0.0.9:80"`, `"/run/x.sock"`, `"::1:80"`,
	`"SIGKILL"`, `"2026-01-02T03:04:05Z"`, `"2026-01-02T03:04:05+01:00"`,
	`true`, `false`, `null`, `[]`, `["a","b"]`, `{"base64":"eA=="}`, `{}`, `"tab	"`,
}

var typeValues = []string{`"open"`, `"openat"`, `"creat"`, `"unlink"`, `"rmdir"`, `"mkdir"`, `"chdir"`, `"close"`,
	`"execve"`, `"connect"`, `"bind"`, `"kill"`, `"setuid"`, `"dup"`, `"nope"`}

// TestTemplateMatchesFast: a line a template takes decodes as the
// reference decoder (encoding/json) decodes it. For every line the fast
// decoder takes (the repository's traces and generated lines), each of
// its values in turn is replaced by values above (the type by other
// types), the line is edited at random bytes, and the line and each
// variant are read one after the other, so the variant is first tried
// against the line's template.
func TestTemplateMatchesFast(t *testing.T) {
	var lines []string
	seen := map[string]bool{}
	for _, text := range corpus(t) {
		for _, l := range strings.Split(text, "\n") {
			if !seen[l] && len(seen) < 400 {
				seen[l] = true
				lines = append(lines, l)
			}
		}
	}
	g := newLineGen(5)
	n := 300
	if testing.Short() {
		n = 50
	}
	for range n {
		l, _ := g.line()
		lines = append(lines, l)
	}
	variants, byTemplate := 0, 0
	for _, l := range lines {
		b := bytes.TrimSpace([]byte(l))
		r := NewReader(nil)
		var ev event.Event
		if len(b) == 0 || b[0] == '#' || !r.decodeFast(b, &ev) {
			continue
		}
		slots := append([]recSlot(nil), r.rec...)
		var text strings.Builder
		text.WriteString(string(b) + "\n")
		for _, sl := range slots {
			vals := oddValues
			if sl.key == keyType {
				vals = typeValues // a type whose parameters may have the same names
			}
			for range 6 {
				v := vals[g.pick(len(vals))]
				text.WriteString(string(b[:sl.start]) + v + string(b[sl.end:]) + "\n")
				variants++
			}
		}
		// Byte edits: most change the bytes between the values.
		for range 6 {
			text.WriteString(g.mutate(string(b)) + "\n")
			variants++
		}
		text.WriteString(string(b) + "\n")
		if d := cmp.Diff(readRef(text.String()), readFast(text.String()), decodedOpts); d != "" {
			t.Fatalf("line %s and its variants (-ref +reader):\n%s", b, d)
		}
		// How many lines the template took.
		r = NewReader(strings.NewReader(text.String()))
		for {
			err := r.Next(&ev, nil)
			if err != nil && r.stick != nil {
				break
			}
		}
		byTemplate += r.tmplHits
	}
	t.Logf("%d lines, %d variants, %d taken by a template", len(lines), variants, byTemplate)
	if byTemplate < variants/20 {
		t.Errorf("weak test: templates took %d of %d variants", byTemplate, variants)
	}
}

// FuzzReplayTemplate reads two lines, the first again, and the second
// again: each is tried against the template the other left.
func FuzzReplayTemplate(f *testing.F) {
	g := newLineGen(3)
	for range 100 {
		a, _ := g.line()
		f.Add(a, g.mutate(a))
	}
	f.Add(`{"ts":1,"type":"openat","tid":5,"res":3,"args":{"dirfd":-100,"name":"/a","flags":"O_RDONLY"}}`,
		`{"ts":2,"type":"openat","tid":5,"res":3,"args":{"dirfd":-100,"name":"/b\u00e9","flags":"O_RDONLY|O_CLOEXEC"}}`)
	f.Add(`{"ts":1,"type":"unlink","tid":5,"res":0,"args":{"path":"/a"}}`, `{"ts":1,"type":"rmdir","tid":5,"res":0,"args":{"path":"/a"}}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsAny(a+b, "\n") {
			return
		}
		text := a + "\n" + b + "\n" + a + "\n" + b
		if d := cmp.Diff(readRef(text), readFast(text), decodedOpts); d != "" {
			t.Errorf("(-ref +reader):\n%s", d)
		}
	})
}

// TestTemplateInBufferOneLine: a template decodes lines where they are in
// the Reader's buffer, the next lines after them; a value must not reach
// past its line's newline (white space inside an array), which alone is
// malformed.
func TestTemplateInBufferOneLine(t *testing.T) {
	l := `{"ts":8,"type":"execve","tid":100,"res":0,"args":{"exe":"ls","args":["-l","/tmp"],"filename":"/bin/ls"}}`
	split := `{"ts":9,"type":"execve","tid":100,"res":0,"args":{"exe":"ls","args":["-l",` + "\n" +
		`"/tmp"],"filename":"/bin/ls"}}`
	spaced := `{"ts":9,"type":"execve","tid":100,"res":0,"args":{"exe":"ls","args":["-l", "/tmp" ],"filename":"/bin/ls"}}`
	for _, tc := range []struct {
		text string
		ok   int
	}{
		{l + "\n" + split + "\n" + l + "\n", 2},
		{l + "\n" + spaced + "\n" + l + "\n" + l + " \n" + l + "\r\n" + l, 6},
	} {
		text := tc.text
		got := readFast(text)
		if d := cmp.Diff(readRef(text), got, decodedOpts); d != "" {
			t.Errorf("%q (-ref +reader):\n%s", text, d)
		}
		ok := 0
		for _, d := range got {
			if d.Err == "" {
				ok++
			}
		}
		if ok != tc.ok {
			t.Errorf("%q: %d lines decoded, want %d", text, ok, tc.ok)
		}
	}
}

// TestTemplateMemo: a slot's value memo takes a value written as before
// and nothing else: after many lines with the same values, each value in
// turn is replaced by one that starts or ends like it, or is followed by
// other bytes, and every line decodes as the reference decodes it. The
// memos must have been used.
func TestTemplateMemo(t *testing.T) {
	const line = `{"ts":7,"type":"openat","tid":5,"res":3,"args":{"dirfd":-100,"name":"/a/b","flags":"O_RDONLY"}}`
	edits := [][2]string{
		{`"ts":7,`, `"ts":77,`}, {`"ts":7,`, `"ts":7.5,`}, {`"ts":7,`, `"ts":"7",`},
		{`"tid":5,`, `"tid":-5,`}, {`"tid":5,`, `"tid":05,`}, {`"res":3,`, `"res":3e0,`},
		{`"dirfd":-100,`, `"dirfd":-1000,`}, {`"dirfd":-100,`, `"dirfd":-10,`}, {`"dirfd":-100,`, `"dirfd":"AT_FDCWD",`},
		{`"name":"/a/b",`, `"name":"/a/b/",`}, {`"name":"/a/b",`, `"name":"/a/b\u00e9",`}, {`"name":"/a/b",`, `"name":"/a/b" ,`},
		{`"flags":"O_RDONLY"}`, `"flags":"O_RDONLY|O_CLOEXEC"}`}, {`"flags":"O_RDONLY"}`, `"flags":"O_RDONL"}`},
		{`"flags":"O_RDONLY"}`, `"flags":0}`}, {`"flags":"O_RDONLY"}}`, `"flags":"O_RDONLY"},"x":1}`},
		{`"dirfd":-100,"name"`, `"dirfd":-100,"nam"`}, {`"tid":5,"res"`, `"tid":5,"pid"`},
	}
	var text strings.Builder
	for range 3 {
		for range 100 {
			text.WriteString(line + "\n")
		}
		for _, e := range edits {
			text.WriteString(strings.Replace(line, e[0], e[1], 1) + "\n")
			text.WriteString(line + "\n")
		}
	}
	if d := cmp.Diff(readRef(text.String()), readFast(text.String()), decodedOpts); d != "" {
		t.Fatalf("(-ref +reader):\n%s", d)
	}
	r := NewReader(strings.NewReader(text.String()))
	var ev event.Event
	for r.Next(&ev, nil) == nil || r.stick == nil {
	}
	hits := 0
	for _, tm := range r.tmpls {
		for _, m := range tm.memos {
			hits += int(m.hits)
		}
	}
	if hits < 300 {
		t.Errorf("the memos took %d values, want at least 300", hits)
	}
}
