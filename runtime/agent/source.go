package agent

import (
	"context"
	"fmt"

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

// replaySource reads a trace (-e): JSON lines or a libscap capture
// (replay.Open chooses).
type replaySource struct {
	replay.Source
}

func openReplay(name string) (*replaySource, error) {
	src, err := replay.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-e: %w", err)
	}
	return &replaySource{src}, nil
}
