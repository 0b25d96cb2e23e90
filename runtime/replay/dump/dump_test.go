package dump

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/falcoc/falcoc/runtime/replay"
)

// TestDumpScap prints a libscap capture's events (--dump): one line per
// decoded event, fds resolved to names through the capture's fd table and
// the state the events build.
func TestDumpScap(t *testing.T) {
	loc := time.Local
	time.Local = time.UTC // evt.time is local time
	t.Cleanup(func() { time.Local = loc })
	src, err := replay.Open("../../scap/testdata/cat_write.scap")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out strings.Builder
	n, err := Dump(context.Background(), &out, src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if n != 302 || len(lines) != n {
		t.Fatalf("%d events, %d lines; want 302", n, len(lines))
	}
	for _, want := range []string{
		"136 16:17:57.881785348 0 cat (20072) < open fd=3(<f>/etc/ld.so.cache) name=/etc/ld.so.cache flags=524288(O_RDONLY|O_CLOEXEC) mode=0",
		"139 16:17:57.881789181 0 cat (20072) < close res=0 fd=3(<f>/etc/ld.so.cache)",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q", want)
		}
	}
}
