package kmatrix

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HeadroomStatus is the outcome of the headroom comparison of a kernel.
type HeadroomStatus string

// Outcomes of [compareHeadroom] and [updateHeadroom].
const (
	HeadroomOK        HeadroomStatus = "ok"        // the figures equal the golden file
	HeadroomDiffers   HeadroomStatus = "differs"   // failure: the figures moved
	HeadroomNoGolden  HeadroomStatus = "no golden" // failure: figures but no golden file
	HeadroomMissing   HeadroomStatus = "missing"   // failure: a golden file but no figures
	HeadroomNone      HeadroomStatus = "none"      // no figures and no golden file: noted only
	HeadroomUpdated   HeadroomStatus = "updated"   // -update wrote the golden file
	HeadroomUnchanged HeadroomStatus = "unchanged" // -update: the golden file already had these figures
)

// HeadroomResult is the comparison of a kernel's headroom figures with its
// golden file.
type HeadroomResult struct {
	Status HeadroomStatus
	// Golden is the golden file's path.
	Golden string
	// Note explains the status: a hint, the release the golden file was
	// recorded on when it differs from this one.
	Note string
	// Diff lists the changed figures: "-line" from the golden file,
	// "+line" from this run.
	Diff []string
}

// Failed tells whether the status fails the kernel.
func (h HeadroomResult) Failed() bool {
	switch h.Status {
	case HeadroomDiffers, HeadroomNoGolden, HeadroomMissing:
		return true
	}
	return false
}

// goldenReleasePrefix starts the first line of a golden file.
const goldenReleasePrefix = "# kernel "

// formatGolden renders a golden file: the kernel release as a comment,
// then the figures (sorted by the caller), one per line.
func formatGolden(release string, lines []string) string {
	var b strings.Builder
	b.WriteString(goldenReleasePrefix + release + "\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// parseGolden reads a golden file back into its release and figures.
// Comment and blank lines other than the release are ignored.
func parseGolden(s string) (release string, lines []string) {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, goldenReleasePrefix) && release == "":
			release = strings.TrimPrefix(l, goldenReleasePrefix)
		case l == "" || strings.HasPrefix(l, "#"):
		default:
			lines = append(lines, l)
		}
	}
	return release, lines
}

// goldenPath is the golden file of a kernel in dir.
func goldenPath(dir, id string) string { return filepath.Join(dir, id+".txt") }

// compareHeadroom compares the figures of a run on release with the
// kernel's golden file in dir. Only the figures are compared: a new
// Debian kernel of the same series is a note, not a failure, unless the
// figures move with it.
func compareHeadroom(dir, id, release string, got []string) (HeadroomResult, error) {
	res := HeadroomResult{Golden: goldenPath(dir, id)}
	data, err := os.ReadFile(res.Golden)
	if errors.Is(err, fs.ErrNotExist) {
		if len(got) == 0 {
			res.Status, res.Note = HeadroomNone, "no headroom figures in the test output and no golden file"
			return res, nil
		}
		res.Status, res.Note = HeadroomNoGolden, "no golden file: run the matrix with -update and commit "+res.Golden
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("read headroom golden: %w", err)
	}
	wantRelease, want := parseGolden(string(data))
	if len(got) == 0 {
		res.Status, res.Note = HeadroomMissing, "no headroom figures in the test output (did TestHeadroom run?)"
		return res, nil
	}
	res.Diff = diffLines(want, got)
	if len(res.Diff) == 0 {
		res.Status = HeadroomOK
	} else {
		res.Status, res.Note = HeadroomDiffers, "the figures moved: check the change, then run with -update and commit "+res.Golden
	}
	if wantRelease != release {
		if res.Note != "" {
			res.Note += "; "
		}
		res.Note += fmt.Sprintf("golden recorded on %s, this run on %s", wantRelease, release)
	}
	return res, nil
}

// updateHeadroom writes the kernel's golden file in dir from this run's
// figures. Without figures it writes nothing (a failing load must not
// erase the golden file).
func updateHeadroom(dir, id, release string, got []string) (HeadroomResult, error) {
	res := HeadroomResult{Golden: goldenPath(dir, id)}
	if len(got) == 0 {
		res.Status, res.Note = HeadroomNone, "no headroom figures in the test output: golden file not written"
		if _, err := os.Stat(res.Golden); err == nil {
			res.Status = HeadroomMissing
		}
		return res, nil
	}
	content := formatGolden(release, got)
	if old, err := os.ReadFile(res.Golden); err == nil && string(old) == content {
		res.Status = HeadroomUnchanged
		return res, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("write headroom golden: %w", err)
	}
	if err := os.WriteFile(res.Golden, []byte(content), 0o644); err != nil {
		return res, fmt.Errorf("write headroom golden: %w", err)
	}
	res.Status = HeadroomUpdated
	return res, nil
}

// diffLines lists, for two sorted line lists, the lines only in want
// ("-") and only in got ("+"), in order.
func diffLines(want, got []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			out = append(out, "-"+want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			out = append(out, "+"+got[j])
			j++
		default:
			i++
			j++
		}
	}
	return out
}
