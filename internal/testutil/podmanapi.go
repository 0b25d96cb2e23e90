package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Service starts `podman system service` on a socket of the test's own
// (podman's API: docker's plus libpod's) and returns the socket's path.
// The service is stopped, by its process id, when the test ends.
func (p *Podman) Service(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "falcoc-podman-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "podman.sock")
	logPath := filepath.Join(dir, "service.log")
	logf, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(p.Bin, "system", "service", "--time=0", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		tb.Fatal(err)
	}
	logf.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for pingDocker(sock) != nil {
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("podman system service exited (%v):\n%s", err, tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatal(fmt.Errorf("podman system service not answering on %s after 30s:\n%s", sock, tail(logPath)))
		}
	}
	return sock
}
