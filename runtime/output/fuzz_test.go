package output

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzFormat checks that any message and field text gives a sanitised text
// line (valid UTF-8, no control bytes) and valid JSON that decodes back to
// the same line.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b\n", "\xe2\x82A", "\xf0\x9f\x98", `q"\`, "\uFFFD"} {
		f.Add(s)
	}
	o := utcOptions()
	f.Fuzz(func(t *testing.T, s string) {
		a := &Alert{Priority: PriorityInformational, Message: s, Rule: s, Tags: []string{s}, Fields: []Field{{s, String(s)}}}
		text := FormatText(nil, a, &o)
		if !utf8.Valid(text) {
			t.Fatalf("text %q is not valid UTF-8", text)
		}
		for _, c := range text {
			if c < 0x20 {
				t.Fatalf("text %q has control character %#x", text, c)
			}
		}
		js := FormatJSON(nil, a, &o)
		var got struct{ Output string }
		if err := json.Unmarshal(js, &got); err != nil {
			t.Fatalf("invalid JSON %s: %v", js, err)
		}
		// The JSON output property holds the raw line; escaping it again
		// for text gives the text line.
		if again := appendEscaped(nil, got.Output); string(again) != string(text) {
			t.Fatalf("JSON output %q escapes to %q, text line is %q", got.Output, again, text)
		}
	})
}
