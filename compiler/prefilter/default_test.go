package prefilter

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/falcoc/falcoc/compiler/rules"
	falcorules "github.com/falcoc/falcoc/rules"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "update golden files")

func loadDefault(t testing.TB) *Plan {
	t.Helper()
	data, err := falcorules.FS.ReadFile(falcorules.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	rs, ds := rules.Load([]rules.Source{{Name: falcorules.DefaultFile, Data: data}}, nil)
	if rs == nil {
		t.Fatalf("load default rules: %v", ds)
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPlanGolden(t *testing.T) {
	p := loadDefault(t)
	var b bytes.Buffer
	if err := p.Describe(&b, nil); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/default_plan.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), b.String()); d != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", d)
	}
}
