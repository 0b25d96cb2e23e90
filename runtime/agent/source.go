package agent

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// eventSource is a source of syscall events: the live kernel or a trace.
type eventSource interface {
	// Next fills ev with the next event, first applying to table what
	// the source knows beyond the event itself (a trace's process
	// context, the kernel's task name). It returns io.EOF at the end.
	Next(ctx context.Context, ev *event.Event, table *state.Table) error
	// Close releases the source once the agent is done with it, after
	// printing its counters, if it has any.
	Close() error
}

// replaySource reads a trace in the replay format (-e).
type replaySource struct {
	name string
	f    *os.File
	r    *replay.Reader
	pc   event.ProcContext
}

func openReplay(name string) (*replaySource, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-e: %w", err)
	}
	return &replaySource{name: name, f: f, r: replay.NewReader(f)}, nil
}

// Next reads the next trace event and applies the process context it
// carries, if any.
func (s *replaySource) Next(ctx context.Context, ev *event.Event, table *state.Table) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.r.Next(ev, &s.pc)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("%s:%w", s.name, err)
	}
	if s.pc.Present() {
		state.ApplyProc(table, ev.Ts, ev.Tid, ev.Pid, &s.pc)
	}
	return nil
}

func (s *replaySource) Close() error { return s.f.Close() }
