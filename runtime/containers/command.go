package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// runFunc runs a command and returns its standard output.
type runFunc func(ctx context.Context, name string, args ...string) ([]byte, error)

// runCommand runs name with args, bounded by ctx, and returns its standard
// output (at most maxBody bytes). A missing program is [ErrUnavailable];
// a failure whose message says the container does not exist is
// [ErrNotFound].
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrUnavailable)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = name // errors name the command as called
	out := &capBuffer{max: maxBody}
	stderr := &capBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), ctx.Err())
		}
		if notFoundMessage(msg) {
			return nil, fmt.Errorf("%s: %s: %w", strings.Join(cmd.Args, " "), msg, ErrNotFound)
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w", name, ErrUnavailable)
		}
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, msg)
	}
	if out.truncated {
		return nil, fmt.Errorf("%s: output longer than %d bytes", strings.Join(cmd.Args, " "), maxBody)
	}
	return out.Bytes(), nil
}

// notFoundMessage reports whether a runtime's error message says the
// container does not exist.
func notFoundMessage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "no such container") || strings.Contains(m, "not found")
}

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.truncated = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
