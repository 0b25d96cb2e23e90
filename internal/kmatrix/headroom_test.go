package kmatrix

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHeadroomGolden(t *testing.T) {
	dir := t.TempDir()
	figs := []string{"falcoc-headroom: a insns=1", "falcoc-headroom: b insns=2"}

	res, err := compareHeadroom(dir, "sid", "7.2.13", nil)
	if err != nil || res.Status != HeadroomNone || res.Failed() {
		t.Errorf("no figures, no golden: %+v, %v", res, err)
	}
	res, err = compareHeadroom(dir, "sid", "7.2.13", figs)
	if err != nil || res.Status != HeadroomNoGolden || !res.Failed() {
		t.Errorf("figures, no golden: %+v, %v", res, err)
	}
	res, err = updateHeadroom(dir, "sid", "7.2.13", nil)
	if err != nil || res.Status != HeadroomNone {
		t.Errorf("update without figures: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sid.txt")); !os.IsNotExist(err) {
		t.Errorf("update without figures wrote a golden file (%v)", err)
	}
	res, err = updateHeadroom(dir, "sid", "7.2.13", figs)
	if err != nil || res.Status != HeadroomUpdated {
		t.Errorf("update: %+v, %v", res, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "sid.txt"))
	want := "# kernel 7.2.13\nfalcoc-headroom: a insns=1\nfalcoc-headroom: b insns=2\n"
	if err != nil || string(data) != want {
		t.Errorf("golden file = %q, %v; want %q", data, err, want)
	}
	res, err = updateHeadroom(dir, "sid", "7.2.13", figs)
	if err != nil || res.Status != HeadroomUnchanged {
		t.Errorf("second update: %+v, %v", res, err)
	}
	res, err = compareHeadroom(dir, "sid", "7.2.13", figs)
	if err != nil || res.Status != HeadroomOK || res.Note != "" || res.Failed() {
		t.Errorf("same figures: %+v, %v", res, err)
	}
	res, err = compareHeadroom(dir, "sid", "7.2.14", figs)
	if err != nil || res.Status != HeadroomOK || res.Note != "golden recorded on 7.2.13, this run on 7.2.14" {
		t.Errorf("same figures, new release: %+v, %v", res, err)
	}
	res, err = compareHeadroom(dir, "sid", "7.2.13", []string{"falcoc-headroom: a insns=1", "falcoc-headroom: b insns=3"})
	if err != nil || res.Status != HeadroomDiffers || !res.Failed() {
		t.Errorf("moved figures: %+v, %v", res, err)
	}
	if diff := cmp.Diff([]string{"-falcoc-headroom: b insns=2", "+falcoc-headroom: b insns=3"}, res.Diff); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	res, err = compareHeadroom(dir, "sid", "7.2.13", nil)
	if err != nil || res.Status != HeadroomMissing || !res.Failed() {
		t.Errorf("golden, no figures: %+v, %v", res, err)
	}
	res, err = updateHeadroom(dir, "sid", "7.2.13", nil)
	if err != nil || res.Status != HeadroomMissing {
		t.Errorf("update, golden, no figures: %+v, %v", res, err)
	}
}

func TestDiffLines(t *testing.T) {
	got := diffLines([]string{"a", "c", "d"}, []string{"b", "c", "e"})
	if diff := cmp.Diff([]string{"-a", "+b", "-d", "+e"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := diffLines(nil, nil); got != nil {
		t.Errorf("empty: %q", got)
	}
}

func TestParseGolden(t *testing.T) {
	rel, lines := parseGolden("# kernel 6.1.0-57-cloud-amd64\n# a comment\n\nfalcoc-headroom: x\n")
	if rel != "6.1.0-57-cloud-amd64" || !cmp.Equal(lines, []string{"falcoc-headroom: x"}) {
		t.Errorf("parseGolden: %q %q", rel, lines)
	}
}
