package syntax

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// ruleConditions returns the conditions of the macros and rules of the
// project's rule files, keyed by "file: item name".
func ruleConditions(tb testing.TB) map[string]string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "rules", "*.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var items []map[string]any
		if err := yaml.Unmarshal(b, &items); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for _, it := range items {
			cond, ok := it["condition"].(string)
			if !ok {
				continue
			}
			name, _ := it["macro"].(string)
			if r, ok := it["rule"].(string); ok {
				name = r
			}
			out[filepath.Base(f)+": "+name] = cond
		}
	}
	return out
}

// TestParseRuleFiles parses every condition of the project's rule files
// and checks that each round-trips through Format.
func TestParseRuleFiles(t *testing.T) {
	conds := ruleConditions(t)
	if len(conds) == 0 {
		t.Fatal("no conditions found under rules/")
	}
	for name, src := range conds {
		t.Run(name, func(t *testing.T) {
			e, err := Parse(src, nil)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, err.(*Error).Caret(src))
			}
			out := Format(e)
			again, err := Parse(out, nil)
			if err != nil {
				t.Fatalf("Parse(Format) %q: %v", out, err)
			}
			if d := cmp.Diff(e, again, ignorePos, ignoreQuoted); d != "" {
				t.Fatalf("round trip (-first +second):\n%s", d)
			}
		})
	}
}
