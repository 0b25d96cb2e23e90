package rules

import (
	"os"
	"testing"
)

// TestIdiomsLoadCleanly loads the idioms file (every idiom of Falco's
// public rule files) and requires no diagnostic at all: no error, and no
// warning either.
func TestIdiomsLoadCleanly(t *testing.T) {
	data, err := os.ReadFile("testdata/idioms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, ds := Load([]Source{{Name: "idioms.yaml", Data: data}}, nil)
	for _, d := range ds {
		t.Errorf("unexpected diagnostic:\n%s", d.Render())
	}
	if rs == nil || len(rs.Rules) != 3 {
		t.Fatalf("want 3 rules, got %v", rs)
	}
	for _, r := range rs.Rules {
		if r.Checked == nil || r.OutputTemplate == nil {
			t.Errorf("rule %q was not checked", r.Name)
		}
	}
}
