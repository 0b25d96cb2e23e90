package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSetAndApply checks that no override or document makes the decoder
// panic, and that a failed Set leaves the config alone.
func FuzzSetAndApply(f *testing.F) {
	for _, s := range []string{"json_output=true", "rules[].disable.rule=*", "append_output[0].extra_fields[]=x",
		"rules_files[0]=a", "a[=b", "rules[0].enable[0]=x", "engine.kind={a: [1]}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Default()
		if err := c.Set(s); err != nil {
			if diff := cmp.Diff(Default(), c); diff != "" {
				t.Fatalf("failed Set %q changed the config (-want +got)\n%s", s, diff)
			}
		}
		_ = Default().Apply("fuzz.yaml", []byte(s))
	})
}
