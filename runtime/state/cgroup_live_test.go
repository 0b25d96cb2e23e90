package state

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/falcoc/falcoc/internal/testutil"
)

// runInCgroup starts `sleep 30`, creates cgroup dir and moves the sleep
// in. Cleanup kills the sleep, then removes the cgroups it created up
// to root.
func runInCgroup(t *testing.T, root, dir string) int {
	t.Helper()
	testutil.RequireCommand(t, "sleep")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		testutil.SkipOrFail(t, "create cgroup %s: %v", dir, err)
	}
	cmd := exec.Command("sleep", "30")
	startErr := cmd.Start()
	t.Cleanup(func() {
		if startErr == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
			removed := false
			for range 100 {
				if err := os.Remove(d); err == nil || os.IsNotExist(err) {
					removed = true
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !removed {
				t.Errorf("cgroup %s not removed", d)
				return
			}
		}
	})
	if startErr != nil {
		t.Fatal(startErr)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
		t.Fatalf("move %d to %s: %v", cmd.Process.Pid, dir, err)
	}
	return cmd.Process.Pid
}

func randomID(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestLiveCgroups moves real processes into hand-made cgroups with
// runtime layouts and checks that seeding finds their containers.
func TestLiveCgroups(t *testing.T) {
	testutil.RequireRoot(t)
	const v2, mem = "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory"
	tests := []struct {
		name     string
		root     string
		dir      func(id string) string
		wantType string
	}{
		{"v2 systemd docker scope", v2, func(id string) string {
			return v2 + "/falcoc-test.slice/docker-" + id + ".scope"
		}, "docker"},
		{"v1 memory only (hybrid fallback)", mem, func(id string) string {
			return mem + "/falcoc-test/docker/" + id
		}, "docker"},
		{"v2 kubepods containerd", v2, func(id string) string {
			return v2 + "/falcoc-test.slice/kubepods-besteffort-pod1234.slice/cri-containerd-" + id + ".scope"
		}, "containerd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := randomID(t)
			dir := tc.dir(id)
			if _, err := os.Stat(filepath.Join(tc.root, "cgroup.procs")); err != nil {
				testutil.SkipOrFail(t, "cgroup hierarchy missing: %v", err)
			}
			pid := runInCgroup(t, tc.root, dir)
			tb := NewTable(nil)
			th := tb.Lookup(int64(pid))
			if th == nil {
				t.Fatalf("lookup %d failed", pid)
			}
			p := th.Proc()
			if p.ContainerID != id[:12] || p.ContainerFullID != id || p.ContainerType != tc.wantType {
				t.Errorf("container = %q %q %q, want %q %q %q", p.ContainerID, p.ContainerFullID, p.ContainerType, id[:12], id, tc.wantType)
			}
		})
	}
}
