//go:build ignore

// forkstorm creates RATE short-lived processes a second for SECONDS
// seconds: each is a bare fork whose child exits at once, so the rate is
// bounded by the kernel, not by exec. It prints the number of processes
// it created.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: forkstorm RATE SECONDS")
		os.Exit(2)
	}
	rate, err1 := strconv.Atoi(os.Args[1])
	secs, err2 := strconv.ParseFloat(os.Args[2], 64)
	if err1 != nil || err2 != nil || rate <= 0 || secs <= 0 {
		fmt.Fprintln(os.Stderr, "forkstorm: RATE and SECONDS must be positive numbers")
		os.Exit(2)
	}
	runtime.LockOSThread()
	start := time.Now()
	dur := time.Duration(secs * float64(time.Second))
	n := 0
	for {
		el := time.Since(start)
		if el >= dur {
			break
		}
		// Catch up to the rate, then sleep a little.
		want := int(el.Seconds() * float64(rate))
		for i := 0; n < want && i < 200; i++ {
			if forkExit() {
				n++
			}
		}
		if n >= want {
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Println(n)
}

// forkExit forks a child that exits at once, and reaps it.
//
//go:norace
func forkExit() bool {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return false
	}
	if pid == 0 {
		// The child: nothing of the Go runtime may run here.
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(int(pid), &ws, 0, nil)
		if err != syscall.EINTR {
			return err == nil
		}
	}
}
