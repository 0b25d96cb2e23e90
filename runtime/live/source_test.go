package live

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/falcoc/falcoc/runtime/event"
)

// TestSource runs a child that opens a file and checks the events the
// live source decodes for it: the fork (as the parent's clone), the
// execve with its arguments, the openat with its path and flags, and
// the exit.
func TestSource(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBTF(t)
	src, err := Open(&Options{
		Mode:   bpf.ModeFull,
		Tables: EvttypeTables(&artifact.Artifact{Syscalls: []string{"openat"}}),
	})
	if err != nil {
		t.Fatalf("Open: %+v", err)
	}
	defer src.Close()

	file := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/cat", file)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	child := int64(cmd.Process.Pid)
	self := int64(os.Getpid())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var got []string
	var ev event.Event
	for {
		if err := src.Next(ctx, &ev); err != nil {
			if ctx.Err() == nil {
				t.Fatalf("Next: %v", err)
			}
			break
		}
		switch {
		case ev.Type() == "clone" && ev.Pid == self && ev.Res == child:
			got = append(got, "clone")
		case ev.Type() == "execve" && ev.Pid == child:
			exe, _ := ev.Str("exe")
			args := ev.Param("args")
			got = append(got, fmt.Sprintf("execve res=%d exe=%s args=%q", ev.Res, exe, args.B))
		case ev.Type() == "openat" && ev.Pid == child:
			if name, _ := ev.Str("name"); name == file {
				fl, _ := ev.Uint("flags")
				got = append(got, fmt.Sprintf("openat ok=%v flags=%#o", ev.Res >= 0, fl&3))
			}
		case ev.Type() == "procexit" && ev.Pid == child:
			st, _ := ev.Int("status")
			got = append(got, fmt.Sprintf("procexit status=%d", st))
			cancel()
		}
	}
	want := []string{
		"clone",
		fmt.Sprintf("execve res=0 exe=/bin/cat args=%q", file+"\x00"),
		"openat ok=true flags=0",
		"procexit status=0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	src.Sync()
	if s := src.Stats(); s.Undecodable != 0 || s.BadRecords != 0 {
		t.Errorf("stats %+v: records not decoded", s)
	}
	c, err := src.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if tot := c.Total(); tot.Sent == 0 || tot.Calls < tot.Sent {
		t.Errorf("counters %+v", tot)
	}
}

// TestSourceQuiet checks that Next returns when its context ends even
// when no record arrives.
func TestSourceQuiet(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBTF(t)
	src, err := Open(&Options{Mode: bpf.ModeFull, Tables: &bpf.Tables{}})
	if err != nil {
		t.Fatalf("Open: %+v", err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var ev event.Event
	for {
		err := src.Next(ctx, &ev)
		if err == nil {
			continue // scheduler events of other processes
		}
		if err != context.DeadlineExceeded {
			t.Fatalf("Next: %v, want %v", err, context.DeadlineExceeded)
		}
		break
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Next returned %v after its context ended", d-300*time.Millisecond)
	}
}
