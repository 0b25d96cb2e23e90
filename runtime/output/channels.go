package output

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// stdoutChannel writes one line per alert to a writer.
type stdoutChannel struct {
	w   io.Writer
	bw  *bufio.Writer
	buf []byte
}

// NewStdout returns a channel writing one line per alert to w (os.Stdout in
// production). Unbuffered, every alert is one write; buffered
// (buffered_outputs: true), lines are flushed when the buffer fills and at
// Close.
func NewStdout(w io.Writer, buffered bool) Channel {
	c := &stdoutChannel{w: w}
	if buffered {
		c.bw = bufio.NewWriterSize(w, 64<<10)
	}
	return c
}

func (c *stdoutChannel) Name() string { return "stdout" }

func (c *stdoutChannel) Write(_ context.Context, m *Message) error {
	if c.bw != nil {
		c.bw.Write(m.Line)
		if err := c.bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
		return nil
	}
	c.buf = append(append(c.buf[:0], m.Line...), '\n')
	if _, err := c.w.Write(c.buf); err != nil {
		return fmt.Errorf("write stdout: %w", err)
	}
	return nil
}

func (c *stdoutChannel) Close() error {
	if c.bw != nil {
		if err := c.bw.Flush(); err != nil {
			return fmt.Errorf("flush stdout: %w", err)
		}
	}
	return nil
}

// FileConfig configures [NewFile] (falco.yaml file_output).
type FileConfig struct {
	Filename string
	// KeepAlive keeps the file open between alerts; otherwise it is opened
	// and closed for every alert.
	KeepAlive bool
}

type fileChannel struct {
	cfg    FileConfig
	mu     sync.Mutex // guards f against Close racing a stuck writer
	f      *os.File
	reopen atomic.Bool
	buf    []byte
}

// NewFile returns a channel appending one line per alert to a file. The file
// is created when missing. It implements [Reopener] for SIGUSR1.
func NewFile(cfg FileConfig) Channel { return &fileChannel{cfg: cfg} }

func (c *fileChannel) Name() string { return "file" }

// Reopen makes the next write close and reopen the file (log rotation).
func (c *fileChannel) Reopen() { c.reopen.Store(true) }

func (c *fileChannel) open() (*os.File, error) {
	f, err := os.OpenFile(c.cfg.Filename, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open output file: %w", err)
	}
	return f, nil
}

func (c *fileChannel) Write(_ context.Context, m *Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reopen.Swap(false) && c.f != nil {
		c.f.Close()
		c.f = nil
	}
	f := c.f
	if f == nil {
		var err error
		if f, err = c.open(); err != nil {
			return err
		}
	}
	c.buf = append(append(c.buf[:0], m.Line...), '\n')
	_, werr := f.Write(c.buf)
	if c.cfg.KeepAlive && werr == nil {
		c.f = f
		return nil
	}
	c.f = nil
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write output file: %w", werr)
	}
	if cerr != nil {
		return fmt.Errorf("close output file: %w", cerr)
	}
	return nil
}

func (c *fileChannel) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	if err != nil {
		return fmt.Errorf("close output file: %w", err)
	}
	return nil
}
