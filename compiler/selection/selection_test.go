package selection

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"Write*", "Write below etc", true},
		{"*etc", "Write below etc", true},
		{"W*below*", "Write below etc", true},
		{"W*z*", "Write below etc", false},
		{"a*a", "a", false},
		{"", "", true},
		// path.Match, which falco-run once used for artifacts, differs on
		// these: `*` stops at `/`, and `?`, `[` and `\` are special.
		{"Write below*", "Write below /etc/passwd", true},
		{"*ld.so*", "Modify /etc/ld.so.preload", true},
		{"Read ?", "Read x", false},
		{"Read ?", "Read ?", true},
		{"[Nn]et*", "Net rule", false},
		{"[Nn]et*", "[Nn]et rule", true},
		{`a\*`, `a\b`, true},
	}
	for _, tc := range tests {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestEnabled(t *testing.T) {
	type rule struct {
		name    string
		tags    []string
		enabled bool
	}
	rs := []rule{
		{"Write below etc", []string{"filesystem"}, true},
		{"Write below /root", []string{"filesystem"}, true},
		{"Shell in container", []string{"process"}, true},
		{"Disabled", []string{"network"}, false},
	}
	tests := []struct {
		name string
		sel  *Selection
		want []string
	}{
		{"nil", nil, []string{"Write below etc", "Write below /root", "Shell in container"}},
		{"zero", &Selection{}, []string{"Write below etc", "Write below /root", "Shell in container"}},
		{"disable by wildcard across /", &Selection{DisabledRules: []string{"Write below*"}}, []string{"Shell in container"}},
		{"disable tag", &Selection{DisabledTags: []string{"process"}}, []string{"Write below etc", "Write below /root"}},
		{"only tags", &Selection{EnabledTags: []string{"process", "network"}}, []string{"Shell in container", "Disabled"}},
		{"all off, one on", &Selection{DisabledRules: []string{"*"}, EnabledRules: []string{"Disabled"}}, []string{"Disabled"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range rs {
				if tc.sel.Enabled(r.name, r.tags, r.enabled) {
					got = append(got, r.name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("enabled rules (-want +got):\n%s", diff)
			}
		})
	}
}
