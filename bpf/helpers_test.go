package bpf

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/falcoc/falcoc/internal/testutil"
)

const (
	sysOpen    = 2
	sysOpenat  = 257
	sysClose   = 3
	sysFcntl   = 72
	sysDup2    = 33
	sysConnect = 42
	sysExecve  = 59
	sysGetppid = 110
	sysPtrace  = 101
)

// load loads and attaches the capture, closing it when the test ends.
func load(tb testing.TB, opts *Options) *Capture {
	tb.Helper()
	testutil.RequireRoot(tb)
	testutil.RequireBTF(tb)
	c, err := Load(opts)
	if err != nil {
		tb.Fatalf("Load: %+v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return c
}

func setTables(tb testing.TB, c *Capture, t *Tables, m Mode) {
	tb.Helper()
	if err := c.SetTables(t); err != nil {
		tb.Fatalf("SetTables: %v", err)
	}
	if err := c.SetMode(m); err != nil {
		tb.Fatalf("SetMode: %v", err)
	}
}

// drain reads records for d, keeping copies of those keep accepts.
func drain(tb testing.TB, c *Capture, d time.Duration, keep func(*Record) bool) []*Record {
	tb.Helper()
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	var out []*Record
	var r Record
	for {
		err := c.ReadInto(&r)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			tb.Fatalf("ReadInto: %v", err)
		}
		if keep(&r) {
			cp := r
			cp.raw.RawSample = append([]byte(nil), r.raw.RawSample...)
			out = append(out, &cp)
		}
	}
}

// mine keeps syscall records of this process for the given syscall.
func mine(id int) func(*Record) bool {
	pid := uint32(os.Getpid())
	return func(r *Record) bool { return r.Tgid == pid && r.Kind == uint32(id) }
}

func str(b []byte, ok bool) string {
	if !ok {
		return "<none>"
	}
	return string(b)
}
