package cli

import (
	"context"
	"errors"

	"github.com/falcoc/falcoc/runtime/engine"
)

// live watches the kernel. (Being wired to bpf/.)
func (o *RunOptions) live(ctx context.Context, eng *engine.Engine, lr *loadedRules) error {
	return &ExitError{Code: 1, Err: errors.New("live capture is not wired yet; use -e TRACE")}
}
