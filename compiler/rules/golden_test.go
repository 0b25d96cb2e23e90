package rules_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/rules"
)

var update = flag.Bool("update", false, "update golden files")

// TestGolden loads fixture files and compares the diagnostics and the
// resulting rules with testdata/<case>.golden.
func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		files []string
	}{
		{"good", []string{"good.yaml"}},
		{"override", []string{"good.yaml", "override.yaml"}},
		{"errors", []string{"errors.yaml"}},
		{"dir", []string{"."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for _, f := range tc.files {
				paths = append(paths, filepath.Join("testdata", f))
			}
			srcs, err := rules.ReadPaths(paths)
			if err != nil {
				t.Fatal(err)
			}
			rs, ds := rules.Load(srcs, nil)
			var b strings.Builder
			for _, s := range srcs {
				fmt.Fprintf(&b, "# file %s\n", s.Name)
			}
			for _, d := range ds {
				b.WriteString(d.Render())
			}
			if rs != nil {
				fmt.Fprintf(&b, "# engine %s, %d lists, %d macros\n", rs.RequiredEngineVersion, len(rs.Lists), len(rs.Macros))
				for _, r := range rs.Rules {
					fmt.Fprintf(&b, "rule %q %s enabled=%v tags=%v at %s:%d:%d\n  desc: %s\n  condition: %s\n  output: %s\n",
						r.Name, r.Priority, r.Enabled, r.Tags, r.Pos.File, r.Pos.Line, r.Pos.Col, r.Desc, r.Condition, r.Output)
				}
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
