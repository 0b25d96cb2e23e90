package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/vm"
)

func TestDecode(t *testing.T) {
	ev := func(verb, ts string) string {
		return `{"kind":"Event","auditID":"` + verb + `","verb":"` + verb + `","stageTimestamp":"` + ts + `"}`
	}
	tests := []struct {
		name    string
		body    string
		times   []int64 // one per event
		raws    []string
		refused []string
	}{
		{"event", ev("get", "2026-11-26T10:00:00.5Z"),
			[]int64{1795687200500000000}, []string{ev("get", "2026-11-26T10:00:00.5Z")}, nil},
		{"raw keeps order and escapes, compacted", "{\n  \"kind\": \"Event\", \"verb\": \"g\\u0065t\",\n  \"auditID\": \"x\", \"stageTimestamp\": \"2026-11-26T10:00:01Z\" }\n",
			[]int64{1795687201000000000}, []string{`{"kind":"Event","verb":"g\u0065t","auditID":"x","stageTimestamp":"2026-11-26T10:00:01Z"}`}, nil},
		{"list", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + ev("get", "2026-11-26T10:00:00Z") + `,` + ev("list", "2026-11-26T10:00:02Z") + `]}`,
			[]int64{1795687200000000000, 1795687202000000000}, []string{ev("get", "2026-11-26T10:00:00Z"), ev("list", "2026-11-26T10:00:02Z")}, nil},
		{"array of events and lists", `[` + ev("a", "2026-11-26T10:00:00Z") + `,{"kind":"EventList","items":[` + ev("b", "2026-11-26T10:00:00Z") + `]}]`,
			[]int64{1795687200000000000, 1795687200000000000}, []string{ev("a", "2026-11-26T10:00:00Z"), ev("b", "2026-11-26T10:00:00Z")}, nil},
		{"empty list", `{"kind":"EventList","items":[]}`, nil, nil, nil},
		// Refused alone: the other items go through.
		{"item without stageTimestamp", `{"kind":"EventList","items":[{"kind":"Event","verb":"get"},` + ev("list", "2026-11-26T10:00:00Z") + `]}`,
			[]int64{1795687200000000000}, []string{ev("list", "2026-11-26T10:00:00Z")}, []string{"items[0]: can't read stageTimestamp"}},
		{"item with a kind that is not a string", `{"kind":"EventList","items":[{"kind":0,"stageTimestamp":"2026-11-26T10:00:00Z"},` + ev("list", "2026-11-26T10:00:00Z") + `]}`,
			[]int64{1795687200000000000}, []string{ev("list", "2026-11-26T10:00:00Z")}, []string{"items[0]: data not recognized as a k8s audit event"}},
		{"item of another kind", `{"kind":"EventList","items":[{"kind":"Status","stageTimestamp":"2026-11-26T10:00:00Z"}]}`,
			nil, nil, []string{"items[0]: data not recognized as a k8s audit event"}},
		{"item not an object", `{"kind":"EventList","items":[3]}`, nil, nil, []string{"items[0]: can't read stageTimestamp"}},
		{"event without stageTimestamp", `{"kind":"Event","verb":"get","requestReceivedTimestamp":"2026-11-26T10:00:01Z"}`,
			nil, nil, []string{"can't read stageTimestamp"}},
		{"stageTimestamp not a string", `{"kind":"Event","stageTimestamp":5}`, nil, nil,
			[]string{`stageTimestamp: parsing time "" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "" as "2006"`}},
		{"bad time", `{"kind":"Event","stageTimestamp":"yesterday"}`, nil, nil,
			[]string{`stageTimestamp: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`}},
	}
	for _, tc := range tests {
		evs, refused, err := Decode([]byte(tc.body), DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var times []int64
		var raws, refs []string
		for _, ev := range evs {
			times = append(times, ev.Time)
			raws = append(raws, string(ev.Raw))
		}
		for _, e := range refused {
			refs = append(refs, e.Error())
		}
		if d := cmp.Diff(tc.times, times); d != "" {
			t.Errorf("%s: times (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.raws, raws); d != "" {
			t.Errorf("%s: raw (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.refused, refs); d != "" {
			t.Errorf("%s: refused (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestDecodeMaxEventBytes(t *testing.T) {
	body := `{"kind":"EventList","items":[{"kind":"Event","stageTimestamp":"2026-11-26T10:00:00Z"},{"kind":"Event","stageTimestamp":"2026-11-26T10:00:00Z","x":"0123456789"}]}`
	evs, refused, err := Decode([]byte(body), DecodeOptions{MaxEventBytes: 60})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || len(refused) != 1 || !errors.Is(refused[0], ErrTooLarge) ||
		refused[0].Error() != "items[1]: event larger than maxEventSize: size=73" {
		t.Errorf("events %d, refused %v", len(evs), refused)
	}
}

// Bodies refused whole: nothing of them is evaluated.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "malformed audit event: unexpected end of JSON input"},
		{"broken", `{"kind":"Event",`, "malformed audit event: unexpected end of JSON input"},
		{"not json", `verb=get`, "malformed audit event: invalid character 'v' looking for beginning of value"},
		{"trailing", `{"kind":"Event"} {}`, "malformed audit event: invalid character '{' after top-level value"},
		{"kind not a string", `{"kind": 0}`, "data not recognized as a k8s audit event"},
		{"no kind", `{"verb":"get","stageTimestamp":"2026-11-26T10:00:00Z"}`, "data not recognized as a k8s audit event"},
		{"other kind", `{"kind":"Pod"}`, "data not recognized as a k8s audit event"},
		{"string", `"Event"`, "data not recognized as a k8s audit event"},
		{"null", `null`, "data not recognized as a k8s audit event"},
		{"list without items", `{"kind":"EventList"}`, "data not recognized as a k8s audit event"},
		{"items not a list", `{"kind":"EventList","items":{}}`, "data not recognized as a k8s audit event"},
		// One bad element of an array refuses the whole array, as in the plugin.
		{"array with one bad element", `[{"kind":"Event","stageTimestamp":"2026-11-26T10:00:00Z"},{"kind":0}]`, "data not recognized as a k8s audit event"},
		{"deep", `{"kind":"Event","x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, "malformed audit event: JSON nested deeper than 1000 levels"},
	}
	for _, tc := range tests {
		evs, refused, err := Decode([]byte(tc.body), DecodeOptions{})
		if err == nil {
			t.Errorf("%s: %d events, %d refused, want error %q", tc.name, len(evs), len(refused), tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s: error %q\nwant %q", tc.name, err, tc.want)
		}
		if evs != nil || refused != nil {
			t.Errorf("%s: events or refusals with an error", tc.name)
		}
	}
}

func TestParseJSON(t *testing.T) {
	n, err := parseJSON(`{"b":[1,{"x":null}],"a":"q\"\u00e9","b":true}`)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{n.raw, n.get("b").raw, n.at("b", "1", "x").raw, n.get("a").s, n.get("a").raw}
	want := []string{`{"b":[1,{"x":null}],"a":"q\"\u00e9","b":true}`, `[1,{"x":null}]`, `null`, `q"é`, `"q\"\u00e9"`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if n.at("b", "2") != nil || n.at("a", "0") != nil || n.get("zz") != nil {
		t.Error("a missing path has a value")
	}
	if k := n.at("b", "1", "x").k; k != kNull {
		t.Errorf("null has kind %d", k)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"kind":"EventList","items":[{"kind":"Event","auditID":"1","stageTimestamp":"2026-11-26T10:00:00Z","verb":"get","objectRef":{"resource":"pods"}}]}`))
	f.Add([]byte(`{"kind":"Event","auditID":"1","stageTimestamp":"2026-11-26T10:00:00Z","requestObject":{"spec":{"containers":[{"image":"a:1","securityContext":{"runAsUser":-1}}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, refused, err := Decode(body, DecodeOptions{})
		if err != nil && (evs != nil || refused != nil) {
			t.Fatalf("events and an error: %v", err)
		}
		for _, ev := range evs {
			for _, name := range Fields() {
				field := name
				switch name {
				case "ka.uri.param", "ka.req.binding.subject.has_name", "ka.req.volume.hostpath":
					field += "[x]"
				case "jevt.value", "json.value":
					field += "[/requestObject/spec]"
				}
				for _, corrected := range []bool{false, true} {
					env, err := NewEnv([]vm.FieldRef{ref(field)}, EnvOptions{Corrected: corrected})
					if err != nil {
						t.Fatal(err)
					}
					env.Reset(ev)
					var v vm.Value
					env.Extract(0, &v)
				}
			}
		}
	})
}

// FuzzParseJSON: every valid JSON document parses, each node's text is its
// compact JSON, and a (valid UTF-8) string node's value is what
// encoding/json decodes.
func FuzzParseJSON(f *testing.F) {
	f.Add(`{"a":[1,"x\u00e9\"",{"b":null}],"c":true,"a":-1.5e3}`)
	f.Add(`[[],{},""]`)
	f.Fuzz(func(t *testing.T, src string) {
		var compact bytes.Buffer
		if json.Compact(&compact, []byte(src)) != nil {
			return
		}
		n, err := parseJSON(compact.String())
		if err != nil {
			if errors.Is(err, errDepth) {
				return
			}
			t.Fatalf("%q: %v", compact.String(), err)
		}
		var check func(n *node)
		check = func(n *node) {
			var c bytes.Buffer
			if err := json.Compact(&c, []byte(n.raw)); err != nil || c.String() != n.raw {
				t.Fatalf("node text %q is not compact JSON", n.raw)
			}
			if n.k == kString && utf8.ValidString(n.raw) { // invalid UTF-8 is kept as sent, as the plugin's parser does
				var s string
				if err := json.Unmarshal([]byte(n.raw), &s); err != nil || s != n.s {
					t.Fatalf("string %q: value %q, want %q", n.raw, n.s, s)
				}
			}
			for _, v := range n.vals {
				check(v)
			}
		}
		check(n)
		if n.raw != compact.String() {
			t.Fatalf("root text %q, want %q", n.raw, compact.String())
		}
	})
}
