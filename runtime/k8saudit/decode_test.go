package k8saudit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/vm"
)

func TestDecode(t *testing.T) {
	now := time.Unix(7, 0)
	tests := []struct {
		name  string
		body  string
		times []int64 // one per event
		raws  []string
	}{
		{"event", `{"kind":"Event","verb":"get","stageTimestamp":"2026-11-26T10:00:00.5Z"}`,
			[]int64{1795687200500000000}, []string{`{"kind":"Event","verb":"get","stageTimestamp":"2026-11-26T10:00:00.5Z"}`}},
		{"event without kind", `{"verb":"get","requestReceivedTimestamp":"2026-11-26T10:00:01Z"}`,
			[]int64{1795687201000000000}, []string{`{"verb":"get","requestReceivedTimestamp":"2026-11-26T10:00:01Z"}`}},
		{"raw keeps the order, compacted", "{\n  \"verb\": \"get\",\n  \"auditID\": \"x\" }\n", []int64{7000000000}, []string{`{"verb":"get","auditID":"x"}`}},
		{"no timestamp", `{"verb":"get"}`, []int64{7000000000}, []string{`{"verb":"get"}`}},
		{"list", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","verb":"get"},{"kind":"Event","verb":"list"}]}`,
			[]int64{7000000000, 7000000000}, []string{`{"kind":"Event","verb":"get"}`, `{"kind":"Event","verb":"list"}`}},
		{"empty list", `{"kind":"EventList","items":[]}`, nil, nil},
		{"list without items", `{"kind":"EventList"}`, nil, nil},
		{"list with null items", `{"kind":"EventList","items":null}`, nil, nil},
	}
	for _, tc := range tests {
		evs, err := Decode([]byte(tc.body), now)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var times []int64
		var raws []string
		for _, ev := range evs {
			times = append(times, ev.Time)
			raws = append(raws, string(ev.Raw))
		}
		if d := cmp.Diff(tc.times, times); d != "" {
			t.Errorf("%s: times (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.raws, raws); d != "" {
			t.Errorf("%s: raw (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "malformed audit event: EOF"},
		{"broken", `{"kind":"Event",`, "malformed audit event: unexpected EOF"},
		{"not json", `verb=get`, "malformed audit event: invalid character 'v' looking for beginning of value"},
		{"array", `[{"kind":"Event"}]`, "malformed audit event: not a JSON object"},
		{"string", `"Event"`, "malformed audit event: not a JSON object"},
		{"null", `null`, "malformed audit event: not a JSON object"},
		{"null item", `{"items":[null]}`, "items[0]: malformed audit event: not a JSON object"},
		{"trailing", `{"kind":"Event"} {}`, "malformed audit event: data after the JSON value"},
		{"other kind", `{"kind":"Pod"}`, `malformed audit event: kind "Pod" is not Event`},
		{"items not a list", `{"kind":"EventList","items":{}}`, "malformed audit event: items is not a list"},
		{"item not an object", `{"kind":"EventList","items":[{"kind":"Event"},3]}`, "items[1]: malformed audit event: not a JSON object"},
		{"item of another kind", `{"items":[{"kind":"Status"}]}`, `items[0]: malformed audit event: kind "Status" is not Event`},
		{"bad time", `{"kind":"Event","stageTimestamp":"yesterday"}`,
			`malformed audit event: stageTimestamp: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`},
		{"deep", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "malformed audit event: invalid character '[' exceeded max depth"},
	}
	for _, tc := range tests {
		evs, err := Decode([]byte(tc.body), time.Unix(0, 0))
		if err == nil {
			t.Errorf("%s: %d events, want error %q", tc.name, len(evs), tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s: error %q\nwant %q", tc.name, err, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"kind":"EventList","items":[{"kind":"Event","verb":"get","objectRef":{"resource":"pods"}}]}`))
	f.Add([]byte(`{"requestObject":{"spec":{"containers":[{"image":"a:1","securityContext":{"runAsUser":-1}}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Decode(body, time.Unix(0, 0))
		if err != nil && evs != nil {
			t.Fatalf("events and an error: %v", err)
		}
		for _, ev := range evs {
			for _, name := range Fields() {
				field := name
				if name == "ka.uri.param" || name == "ka.req.binding.subject.has_name" {
					field += "[x]"
				} else if name == "jevt.value" {
					field += "[/requestObject/spec]"
				}
				env, err := NewEnv([]vm.FieldRef{ref(field)}, EnvOptions{})
				if err != nil {
					t.Fatal(err)
				}
				env.Reset(ev)
				var v vm.Value
				env.Extract(0, &v)
			}
		}
	})
}
