package scap_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/falcoc/falcoc/runtime/scap"
)

// TestLibscapReadsOurCaptures: captures written by --capture x.scap are
// read by libscap's own savefile engine (Falco's replay engine) with the
// same tables and events as falcoc reads. It needs the checker built
// from falcosecurity/libs (testdata/libscapcheck/build.sh) and named by
// FALCOC_LIBSCAP_CHECK; it skips otherwise.
func TestLibscapReadsOurCaptures(t *testing.T) {
	check := os.Getenv("FALCOC_LIBSCAP_CHECK")
	if check == "" {
		t.Skip("FALCOC_LIBSCAP_CHECK is not set (build it with testdata/libscapcheck/build.sh LIBS OUT)")
	}
	captures, _ := filepath.Glob("testdata/*.scap")
	for _, c := range captures {
		t.Run(filepath.Base(c), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.scap")
			falcoRun(t, "-r", "testdata/falco/diff_rules.yaml", "-e", c, "--capture", out)
			b, err := exec.Command(check, out).CombinedOutput()
			if err != nil {
				t.Fatalf("libscap: %v\n%s", err, b)
			}
			var threads, fds, users, events, filtered int
			var first string
			if _, err := fmt.Sscanf(string(b), "tables: %d threads (first: %s", &threads, &first); err != nil {
				t.Fatalf("libscap output: %v\n%s", err, b)
			}
			line := b[bytes.Index(b, []byte("), "))+3:]
			if _, err := fmt.Sscanf(string(line), "%d fds, %d users\nevents %d (filtered %d)", &fds, &users, &events, &filtered); err != nil {
				t.Fatalf("libscap output: %v\n%s", err, b)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := scap.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			h := r.Header()
			ourFDs := 0
			for _, th := range h.Threads {
				ourFDs += len(th.FDs)
			}
			n := 0
			var raw scap.RawEvent
			for {
				err := r.Next(&raw)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if threads != len(h.Threads) || fds != ourFDs || users != len(h.Users) || events != n || filtered != 0 {
				t.Errorf("libscap: %d threads, %d fds, %d users, %d events (%d filtered); falcoc: %d, %d, %d, %d",
					threads, fds, users, events, filtered, len(h.Threads), ourFDs, len(h.Users), n)
			}
		})
	}
}
