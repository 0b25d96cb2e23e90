package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSustained50k sends 50,000 rule-relevant syscalls a second to
// userspace for a few seconds and requires that none is lost. Under
// --prefilter=evttype every openat is sent (the rules look at openat), and
// so is every close (state): about 100,000 events a second reach the
// engine. Run it alone to see the figures:
//
//	go test -run Sustained -v ./e2e/     (as root)
func TestSustained50k(t *testing.T) {
	requireLive(t)
	const (
		rate     = 50000 // openat per second
		duration = 4 * time.Second
		batch    = 50 // opens per millisecond tick
	)
	f := startFalco(t, "--prefilter", "evttype")
	file := filepath.Join(t.TempDir(), "sustained")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Two workers share the rate, so the workload keeps up even though
	// each sent syscall costs several microseconds.
	const workers = 2
	start := time.Now()
	counts := make(chan int, workers)
	for range workers {
		go func() {
			n := 0
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for time.Since(start) < duration {
				<-tick.C
				// Catch up when a tick was late, so the average rate holds.
				want := int(time.Since(start).Seconds() * rate / workers)
				for n < want {
					for range batch / workers {
						if fd, err := os.Open(file); err == nil {
							fd.Close()
						}
						n++
					}
				}
			}
			counts <- n
		}()
	}
	opens := 0
	for range workers {
		opens += <-counts
	}
	elapsed := time.Since(start)
	errText, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, errText)
	}
	var calls, gate, dropped, sent, lost uint64
	found := false
	for _, line := range strings.Split(errText, "\n") {
		if _, err := fmt.Sscanf(line, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d",
			&calls, &gate, &dropped, &sent, &lost); err == nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("no kernel counters line:\n%s", errText)
	}
	achieved := float64(opens) / elapsed.Seconds()
	t.Logf("kernel %s: %d openat in %v (%.0f/s); kernel: sent %d events, lost %d", kernelRelease(), opens, elapsed.Round(time.Millisecond), achieved, sent, lost)
	if achieved < 0.9*rate {
		t.Errorf("the workload reached only %.0f openat/s, want %d", achieved, rate)
	}
	if sent < uint64(opens) {
		t.Errorf("sent %d events, fewer than the %d openat", sent, opens)
	}
	if lost != 0 {
		t.Errorf("%d events lost at %.0f openat/s:\n%s", lost, achieved, errText)
	}
}
