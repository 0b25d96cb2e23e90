package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
)

// containerAlertTimeout is how long a container rule's alert may take to
// reach the test.
const containerAlertTimeout = 15 * time.Second

// TestContainerRules runs real docker containers under falco-run and
// checks the container rules' alerts and their container fields.
func TestContainerRules(t *testing.T) {
	requireLive(t)
	d := testutil.RequireDocker(t)
	f := startFalco(t)

	// falco-run stops at the first rule that matches an event (Falco's
	// rule_matching: first), and the shell rules come first in the file:
	// the launch rules' containers run `true`, not a shell.
	shell := []string{"sh", "-c", "echo hi"}
	tests := []struct {
		rule   string
		args   []string // docker run arguments before the image
		cmd    []string // the container's command
		fields func(id, name string) map[string]string
	}{
		{
			rule: "Shell spawned in container",
			cmd:  shell,
			fields: func(id, name string) map[string]string {
				return map[string]string{"container.id": id, "container.name": name, "container.image.repository": "falcoc-busybox", "proc.name": "sh"}
			},
		},
		{
			rule: "Terminal shell in container",
			args: []string{"-t"},
			cmd:  shell,
			fields: func(id, name string) map[string]string {
				return map[string]string{"container.id": id, "container.name": name, "proc.name": "sh"}
			},
		},
		{
			rule: "Launch Privileged Container",
			args: []string{"--privileged"},
			cmd:  []string{"true"},
			fields: func(id, name string) map[string]string {
				return map[string]string{"container.id": id, "container.name": name, "container.image.repository": "falcoc-busybox", "proc.name": "true"}
			},
		},
		{
			rule: "Launch Sensitive Mount Container",
			args: []string{"-v", "/etc:/host-etc:ro"},
			cmd:  []string{"true"},
			fields: func(id, name string) map[string]string {
				return map[string]string{"container.id": id, "container.name": name, "container.image.repository": "falcoc-busybox",
					"container.mounts": "/etc:/host-etc:ro:false:rprivate"}
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			name := fmt.Sprintf("falcoc-e2e-%d-%d", os.Getpid(), i)
			cidFile := filepath.Join(t.TempDir(), "cid")
			from := len(f.all())
			// Created, then started at once: falco-run fetches the metadata
			// when docker reports the creation, or waits (bounded) for the
			// fetch at the first alert; either way the container's first
			// exec's alert carries it.
			args := append([]string{"create", "--name", name, "--cidfile", cidFile}, tc.args...)
			args = append(append(args, d.Image), tc.cmd...)
			docker := func(args ...string) {
				t.Helper()
				if out, err := exec.Command(d.Bin, args...).CombinedOutput(); err != nil {
					t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			docker(args...)
			t.Cleanup(func() { _ = exec.Command(d.Bin, "rm", "-f", name).Run() })
			docker("start", "-a", name)
			cid, err := os.ReadFile(cidFile)
			if err != nil || len(cid) < 12 {
				t.Fatalf("container id file: %q, %v", cid, err)
			}
			id := string(cid[:12])
			a, ok := f.wait(from, containerAlertTimeout, func(a *alert) bool {
				return a.Rule == tc.rule && a.field("container.id") == id
			})
			if !ok {
				t.Fatalf("no %q alert for container %s (%s); alerts since: %s\nfalco-run stderr:\n%s",
					tc.rule, id, name, rulesSince(f, from), f.errText())
			}
			want := tc.fields(id, name)
			got := map[string]string{}
			for k := range want {
				got[k] = a.field(k)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s output fields (-want +got):\n%s\noutput: %s", tc.rule, diff, a.Output)
			}
		})
	}
}

// rulesSince lists the rule and container.id of the alerts from index from.
func rulesSince(f *falco, from int) string {
	var b strings.Builder
	all := f.all()
	for i := from; i < len(all); i++ {
		fmt.Fprintf(&b, "\n  %s [%s]", all[i].Rule, all[i].field("container.id"))
	}
	return b.String()
}

// TestExecFlagsInContainer runs, in a real docker container, a program of
// the image (its lower layer) and a copy made in the running container
// (the upper layer), and checks the exec flags that falco-run's alerts
// carry, as Falco sets them: EXE_WRITABLE|EXE_UPPER_LAYER for the dropped
// binary (root in the container may write it), EXE_WRITABLE|EXE_LOWER_LAYER
// for the image's.
func TestExecFlagsInContainer(t *testing.T) {
	requireLive(t)
	d := testutil.RequireDocker(t)
	f := startFalco(t, "-r", filepath.Join("testdata", "exec_flags_rules.yaml"))
	name := fmt.Sprintf("falcoc-e2e-flags-%d", os.Getpid())
	from := len(f.all())
	// Each command is exec'd by docker exec (busybox's shell would run cp
	// in-process). cp is the image's busybox (a lower layer); busybox picks
	// its applet by the name it runs under, so the copy, /tmp/true, runs
	// true.
	docker := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(d.Bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	docker("run", "-d", "--name", name, d.Image, "sleep", "60")
	t.Cleanup(func() { _ = exec.Command(d.Bin, "rm", "-f", name).Run() })
	docker("exec", name, "cp", "/bin/busybox", "/tmp/true")
	docker("exec", name, "/tmp/true")
	for _, tc := range []struct {
		rule string
		want map[string]string
	}{
		{"Drop and execute new binary in container", map[string]string{
			"proc.exe": "/tmp/true", "evt.arg.flags": "EXE_WRITABLE|EXE_UPPER_LAYER",
			"proc.is_exe_writable": "true", "proc.is_exe_upper_layer": "true", "proc.is_exe_lower_layer": "false"}},
		{"Execute image binary in container", map[string]string{
			"proc.exe": "cp", "evt.arg.flags": "EXE_WRITABLE|EXE_LOWER_LAYER",
			"proc.is_exe_writable": "true", "proc.is_exe_upper_layer": "false", "proc.is_exe_lower_layer": "true"}},
	} {
		a, ok := f.wait(from, containerAlertTimeout, func(a *alert) bool { return a.Rule == tc.rule })
		if !ok {
			t.Errorf("no %q alert; alerts since: %s\nfalco-run stderr:\n%s", tc.rule, rulesSince(f, from), f.errText())
			continue
		}
		got := map[string]string{}
		for k := range tc.want {
			got[k] = a.field(k)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\noutput: %s", tc.rule, diff, a.Output)
		}
	}
}
