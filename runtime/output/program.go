package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// ProgramConfig configures [NewProgram] (falco.yaml program_output).
type ProgramConfig struct {
	// Program is run with "sh -c" and gets one line per alert on stdin.
	Program string
	// KeepAlive keeps one process running for all alerts; otherwise a
	// process is started per alert and waited for.
	KeepAlive bool
	// Shell is the shell to run Program with; "" is /bin/sh.
	Shell string
	// Stdout and Stderr receive the program's output; nil discards it.
	// Falco's program shares Falco's own stdout and stderr.
	Stdout, Stderr io.Writer
}

type programChannel struct {
	cfg   ProgramConfig
	cmd   *exec.Cmd
	stdin io.WriteCloser
	buf   []byte
}

// NewProgram returns a channel piping alerts to a shell command. A process that exits early or
// with a non-zero status makes the write fail; with KeepAlive, the next alert
// starts a new process.
func NewProgram(cfg ProgramConfig) Channel {
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	return &programChannel{cfg: cfg}
}

func (c *programChannel) Name() string { return "program" }

func (c *programChannel) start(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, c.cfg.Shell, "-c", c.cfg.Program)
	cmd.Stdout, cmd.Stderr = c.cfg.Stdout, c.cfg.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("start output program: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start output program: %w", err)
	}
	c.cmd, c.stdin = cmd, stdin
	return nil
}

// stop closes stdin and waits for the process.
func (c *programChannel) stop() error {
	if c.cmd == nil {
		return nil
	}
	c.stdin.Close()
	err := c.cmd.Wait()
	c.cmd, c.stdin = nil, nil
	if err != nil {
		return fmt.Errorf("output program: %w", err)
	}
	return nil
}

func (c *programChannel) Write(ctx context.Context, m *Message) error {
	if c.cmd == nil {
		if err := c.start(ctx); err != nil {
			return err
		}
	}
	c.buf = append(append(c.buf[:0], m.Line...), '\n')
	_, werr := c.stdin.Write(c.buf)
	if c.cfg.KeepAlive && werr == nil {
		return nil
	}
	serr := c.stop()
	if werr != nil {
		return fmt.Errorf("write to output program: %w", errors.Join(werr, serr))
	}
	return serr
}

func (c *programChannel) Close() error { return c.stop() }
