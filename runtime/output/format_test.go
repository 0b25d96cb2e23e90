package output

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sampleAlert rebuilds the "Sample shadow read" alert of falco-samples.md.
func sampleAlert(ns int64, proc, cmdline string) *Alert {
	msg := "Sample read (file=/etc/shadow proc=" + proc + " pname=bash cmd=" + cmdline +
		" aname2=bash uid=0 user=root cont=3aef54106536 missing=<NA>)" +
		" container_id=3aef54106536 container_name=<NA> container_image_repository=<NA>" +
		" container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>"
	return &Alert{
		Time:     ns,
		Rule:     "Sample shadow read",
		Priority: PriorityWarning,
		Source:   "syscall",
		Tags:     []string{"filesystem", "sample"},
		Hostname: "vm",
		Message:  msg,
		// In the order the rule output and append_output name them.
		Fields: []Field{
			{"fd.name", String("/etc/shadow")},
			{"proc.name", String(proc)},
			{"proc.pname", String("bash")},
			{"proc.cmdline", String(cmdline)},
			{"proc.aname[2]", String("bash")},
			{"user.uid", Uint(0)},
			{"user.name", String("root")},
			{"container.id", String("3aef54106536")},
			{"fd.sip", Missing()},
			{"container.id", String("3aef54106536")},
			{"container.name", Missing()},
			{"container.image.repository", Missing()},
			{"container.image.tag", Missing()},
			{"k8s.pod.name", Missing()},
			{"k8s.ns.name", Missing()},
		},
	}
}

func utcOptions() Options {
	o := DefaultOptions()
	o.Location = time.UTC
	return o
}

func TestFormatSamples(t *testing.T) {
	iso := utcOptions()
	iso.TimeFormatISO8601 = true
	tests := []struct {
		name  string
		alert *Alert
		opts  Options
		json  bool
		want  string
	}{
		{
			name:  "json",
			alert: sampleAlert(1795714795528217587, "cat", "cat /etc/shadow"),
			opts:  utcOptions(),
			json:  true,
			want:  `{"hostname":"vm","output":"17:39:55.528217587: Warning Sample read (file=/etc/shadow proc=cat pname=bash cmd=cat /etc/shadow aname2=bash uid=0 user=root cont=3aef54106536 missing=<NA>) container_id=3aef54106536 container_name=<NA> container_image_repository=<NA> container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>","output_fields":{"container.id":"3aef54106536","container.image.repository":null,"container.image.tag":null,"container.name":null,"evt.time":1795714795528217587,"fd.name":"/etc/shadow","fd.sip":null,"k8s.ns.name":null,"k8s.pod.name":null,"proc.aname[2]":"bash","proc.cmdline":"cat /etc/shadow","proc.name":"cat","proc.pname":"bash","user.name":"root","user.uid":0},"priority":"Warning","rule":"Sample shadow read","source":"syscall","tags":["filesystem","sample"],"time":"2026-11-26T17:39:55.528217587Z"}`,
		},
		{
			name:  "text",
			alert: sampleAlert(1795714801561720566, "cat", "cat /etc/shadow"),
			opts:  utcOptions(),
			want:  `17:40:01.561720566: Warning Sample read (file=/etc/shadow proc=cat pname=bash cmd=cat /etc/shadow aname2=bash uid=0 user=root cont=3aef54106536 missing=<NA>) container_id=3aef54106536 container_name=<NA> container_image_repository=<NA> container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>`,
		},
		{
			name:  "json iso8601",
			alert: sampleAlert(1795714807506083492, "head", "head -c1 /etc/shadow"),
			opts:  iso,
			json:  true,
			want:  `{"hostname":"vm","output":"2026-11-26T17:40:07.506083492+0000: Warning Sample read (file=/etc/shadow proc=head pname=bash cmd=head -c1 /etc/shadow aname2=bash uid=0 user=root cont=3aef54106536 missing=<NA>) container_id=3aef54106536 container_name=<NA> container_image_repository=<NA> container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>","output_fields":{"container.id":"3aef54106536","container.image.repository":null,"container.image.tag":null,"container.name":null,"evt.time.iso8601":1795714807506083492,"fd.name":"/etc/shadow","fd.sip":null,"k8s.ns.name":null,"k8s.pod.name":null,"proc.aname[2]":"bash","proc.cmdline":"head -c1 /etc/shadow","proc.name":"head","proc.pname":"bash","user.name":"root","user.uid":0},"priority":"Warning","rule":"Sample shadow read","source":"syscall","tags":["filesystem","sample"],"time":"2026-11-26T17:40:07.506083492Z"}`,
		},
		{
			// The reference line of falco-rules-language.md §4.2.
			name: "text iso8601",
			alert: &Alert{Time: time.Date(2016, 8, 4, 16, 17, 57, 881781397, time.UTC).UnixNano(),
				Priority: PriorityWarning, Message: "An open was seen (command=cat /dev/null)"},
			opts: iso,
			want: `2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []byte
			if tc.json {
				got = FormatJSON([]byte("keep:"), tc.alert, &tc.opts)
			} else {
				got = FormatText([]byte("keep:"), tc.alert, &tc.opts)
			}
			if diff := cmp.Diff("keep:"+tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestFormatJSONIncludeCombinations(t *testing.T) {
	a := &Alert{
		Time:     1795714795000000001,
		Rule:     "r",
		Priority: PriorityNotice,
		Source:   "syscall",
		Hostname: "h",
		Message:  "m x=1",
		Fields:   []Field{{"x", Int(1)}},
	}
	const (
		msg    = `,"message":"m x=1"`
		out    = `,"output":"17:39:55.000000001: Notice m x=1"`
		fields = `,"output_fields":{"evt.time":1795714795000000001,"x":1}`
		tags   = `,"tags":[]`
		tail   = `,"time":"2026-11-26T17:39:55.000000001Z"}`
		mid    = `,"priority":"Notice","rule":"r","source":"syscall"`
	)
	for mask := range 16 {
		o := Options{
			JSONIncludeOutputProperty:       mask&1 != 0,
			JSONIncludeMessageProperty:      mask&2 != 0,
			JSONIncludeOutputFieldsProperty: mask&4 != 0,
			JSONIncludeTagsProperty:         mask&8 != 0,
			Location:                        time.UTC,
		}
		want := `{"hostname":"h"`
		if o.JSONIncludeMessageProperty {
			want += msg
		}
		if o.JSONIncludeOutputProperty {
			want += out
		}
		if o.JSONIncludeOutputFieldsProperty {
			want += fields
		}
		want += mid
		if o.JSONIncludeTagsProperty {
			want += tags
		}
		want += tail
		got := string(FormatJSON(nil, a, &o))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("options %+v (-want +got)\n%s", o, diff)
		}
	}
}

func TestFormatDefaultsNilOptions(t *testing.T) {
	a := &Alert{Time: 0, Priority: PriorityDebug, Message: "m", Tags: []string{"t"}}
	got := string(FormatJSON(nil, a, nil))
	// Default options: output, output_fields and tags, no message.
	for _, want := range []string{`"output":"`, `"output_fields":{"evt.time":0}`, `"tags":["t"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("FormatJSON(nil opts) = %s, missing %s", got, want)
		}
	}
	if strings.Contains(got, `"message"`) {
		t.Errorf("FormatJSON(nil opts) = %s, has message", got)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "a b/c <NA> é", "a b/c <NA> é"},
		{"quotes and backslash", `sh -c "echo \x"`, `sh -c \"echo \\x\"`},
		{"named controls", "a\nb\tc\rd\be\ff", `a\nb\tc\rd\be\ff`},
		{"other controls", "a\x00b\x1bc\x7f", `a\u0000b\u001bc` + "\x7f"},
		{"invalid byte", "a\xffb", "a\uFFFDb"},
		{"lone continuation", "\x80\x80", "\uFFFD\uFFFD"},
		{"truncated 3-byte", "\xe2\x82A", "\uFFFDA"},
		{"truncated at end", "A\xf0\x9f\x98", "A\uFFFD"},
		{"surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"overlong", "\xc0\xaf", "\uFFFD\uFFFD"},
		{"literal replacement char", "\uFFFD", "\uFFFD"},
		{"4-byte", "\U0001F600", "\U0001F600"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Alert{Time: 0, Priority: PriorityError, Message: tc.in}
			o := utcOptions()
			got := string(FormatText(nil, a, &o))
			if diff := cmp.Diff("00:00:00.000000000: Error "+tc.want, got); diff != "" {
				t.Errorf("text (-want +got)\n%s", diff)
			}
			a.Fields = []Field{{"f", String(tc.in)}}
			o.JSONIncludeOutputProperty = false
			o.JSONIncludeTagsProperty = false
			got = string(FormatJSON(nil, a, &o))
			want := `{"hostname":"","output_fields":{"evt.time":0,"f":"` + tc.want + `"},"priority":"Error","rule":"","source":"","time":"1970-01-01T00:00:00.000000000Z"}`
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("json (-want +got)\n%s", diff)
			}
		})
	}
}

func TestValues(t *testing.T) {
	ns := time.Date(2026, 11, 26, 17, 39, 55, 5, time.UTC).UnixNano()
	tests := []struct {
		name       string
		v          Value
		text, json string
	}{
		{"missing", Missing(), "<NA>", "null"},
		{"zero value", Value{}, "<NA>", "null"},
		{"string", String("x\"y"), "x\"y", `"x\"y"`},
		{"empty string", String(""), "", `""`},
		{"int", Int(-42), "-42", "-42"},
		{"uint", Uint(18446744073709551615), "18446744073709551615", "18446744073709551615"},
		{"bool true", Bool(true), "true", "true"},
		{"bool false", Bool(false), "false", "false"},
		{"double", Double(0.5), "0.5", "0.5"},
		{"time raw", Time(ns, TimeRaw), "1795714795000000005", "1795714795000000005"},
		{"time clock", Time(ns, TimeClock), "17:39:55.000000005", "1795714795000000005"},
		{"time iso", Time(ns, TimeISO8601), "2026-11-26T17:39:55.000000005+0000", "1795714795000000005"},
		{"time date", Time(ns, TimeDate), "2026-11-26 17:39:55.000000005", "1795714795000000005"},
		{"list", List(String("a"), Missing(), Uint(3)), "(a,<NA>,3)", `["a",null,3]`},
		{"empty list", List(), "()", "[]"},
		{"unknown kind", Value{Kind: 200}, "<NA>", "null"},
	}
	o := utcOptions()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendText(nil, tc.v, &o)); got != tc.text {
				t.Errorf("AppendText = %q, want %q", got, tc.text)
			}
			if got := string(appendJSONValue(nil, tc.v, 0)); got != tc.json {
				t.Errorf("appendJSONValue = %q, want %q", got, tc.json)
			}
		})
	}
}

func TestClockUsesLocation(t *testing.T) {
	ns := time.Date(2026, 11, 26, 17, 39, 55, 0, time.UTC).UnixNano()
	o := DefaultOptions()
	o.Location = time.FixedZone("x", 2*3600)
	got := string(FormatText(nil, &Alert{Time: ns, Priority: PriorityAlert, Message: "m"}, &o))
	if want := "19:39:55.000000000: Alert m"; got != want {
		t.Errorf("FormatText = %q, want %q", got, want)
	}
	o.TimeFormatISO8601 = true // ISO 8601 is always UTC
	got = string(FormatText(nil, &Alert{Time: ns, Priority: PriorityAlert, Message: "m"}, &o))
	if want := "2026-11-26T17:39:55.000000000+0000: Alert m"; got != want {
		t.Errorf("FormatText = %q, want %q", got, want)
	}
}

func TestManyFieldsSorted(t *testing.T) {
	// More fields than the stack buffer holds, given in reverse order.
	a := &Alert{}
	for i := 99; i >= 0; i-- {
		a.Fields = append(a.Fields, Field{fmt.Sprintf("x%02d", i), Int(int64(i))})
	}
	want := `{"evt.time":0`
	for i := range 100 {
		want += fmt.Sprintf(`,"x%02d":%d`, i, i)
	}
	want += "}"
	o := utcOptions()
	if diff := cmp.Diff(want, string(appendOutputFields(nil, a, &o))); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestPriority(t *testing.T) {
	for p := PriorityEmergency; p <= PriorityDebug; p++ {
		got, err := ParsePriority(strings.ToUpper(p.String()))
		if err != nil || got != p {
			t.Errorf("ParsePriority(%q) = %v, %v", p.String(), got, err)
		}
	}
	if got, err := ParsePriority("info"); err != nil || got != PriorityInformational {
		t.Errorf("ParsePriority(info) = %v, %v", got, err)
	}
	_, err := ParsePriority("severe")
	if diff := cmp.Diff(`unknown priority "severe"`, err.Error()); diff != "" {
		t.Error(diff)
	}
	if got := Priority(9).String(); got != "Priority(9)" {
		t.Errorf("Priority(9).String() = %q", got)
	}
}

func TestHostname(t *testing.T) {
	t.Setenv("FALCO_HOSTNAME", "test-falco-hostname")
	if got := Hostname(); got != "test-falco-hostname" {
		t.Errorf("Hostname() = %q", got)
	}
}

func BenchmarkFormatText(b *testing.B) {
	a := sampleAlert(1795714795528217587, "cat", "cat /etc/shadow")
	o := utcOptions()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = FormatText(buf[:0], a, &o)
	}
	if len(buf) == 0 {
		b.Fatal("empty output")
	}
}

func BenchmarkFormatJSON(b *testing.B) {
	a := sampleAlert(1795714795528217587, "cat", "cat /etc/shadow")
	o := utcOptions()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = FormatJSON(buf[:0], a, &o)
	}
	if len(buf) == 0 {
		b.Fatal("empty output")
	}
}
