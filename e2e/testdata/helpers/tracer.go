//go:build ignore

// tracer starts `sleep 10`, attaches to it with PTRACE_ATTACH, detaches
// and kills it.
package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

func main() {
	runtime.LockOSThread()
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	if err := syscall.PtraceAttach(pid); err != nil {
		fail(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WALL, nil); err != nil {
		fail(err)
	}
	if err := syscall.PtraceDetach(pid); err != nil {
		fail(err)
	}
}

func fail(err error) {
	os.Stderr.WriteString(err.Error() + "\n")
	os.Exit(1)
}
