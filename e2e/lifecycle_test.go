package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
)

// lcShell is the name the lifecycle script's shell runs under.
const lcShell = "falcoclc"

// lcRules print the process state of every exec below the script's
// shell. (A rule on descriptors would make every open of the machine a
// state event; the descriptor tables are compared by runtime/live's
// TestLifecycleDropReplay.)
const lcRules = `
- macro: lc_tree
  condition: (proc.pname = falcoclc or proc.aname[2] = falcoclc or proc.aname[3] = falcoclc or proc.aname[4] = falcoclc)
- rule: lifecycle exec
  desc: an exec below the lifecycle script's shell
  condition: evt.type in (execve, execveat) and lc_tree
  output: "exec name=%proc.name pid=%proc.pid vpid=%proc.vpid tid=%thread.tid vtid=%thread.vtid ppid=%proc.ppid
    pname=%proc.pname a2=%proc.aname[2] a3=%proc.aname[3] apid2=%proc.apid[2] exepath=%proc.exepath
    cmdline=%proc.cmdline pcmdline=%proc.pcmdline exe=%proc.exe sid=%proc.sid vpgid=%proc.vpgid
    loginuid=%user.loginuid uid=%user.uid tty=%proc.tty container=%container.id cwd=%proc.cwd"
  priority: NOTICE
`

// lcScript makes a tree of processes: forks, vforks, subshells, execs,
// a new pid namespace (unshare -p -f), a process whose parent exits
// first.
const lcScript = `d="$1"
/bin/true one two
sh -c '/bin/true three; exec /bin/echo four' > /dev/null
( /bin/true five )
( sh -c 'sh -c "/bin/true six"' )
unshare -p -f /bin/true seven
unshare -p -f sh -c '/bin/true eight'
sh -c 'cd /tmp; /bin/true nine'
( cd /; setsid /bin/true ten )
sh -c '/bin/sleep 0.2 & exit 0'
sleep 0.3
/bin/true falcoclc-end
`

// TestLifecycleSameState runs two falco-run processes side by side, one
// that keeps every process lifecycle record (FALCOC_LIFECYCLE=0) and one
// that lets the kernel drop the redundant ones (the default), while one
// script makes a tree of processes: both must print the same process
// state (ids and ids in the pid namespace, parent and ancestors, names,
// command lines, executable, session, loginuid, tty, container, cwd) for
// every exec. (bpf's TestLifecycleDrops shows which records the kernel drops.)
func TestLifecycleSameState(t *testing.T) {
	requireLive(t)
	testutil.RequireCommand(t, "unshare")
	dir := t.TempDir()
	copyFile(t, "/bin/sh", filepath.Join(dir, lcShell), 0o755)
	rules := filepath.Join(dir, "lc.yaml")
	for name, data := range map[string]string{"lc.yaml": lcRules, "script.sh": lcScript} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Setenv("FALCOC_LIFECYCLE", "0")
	keep := startFalco(t, "-r", rules)
	os.Setenv("FALCOC_LIFECYCLE", "1")
	drop := startFalco(t, "-r", rules)

	cmd := exec.Command(filepath.Join(dir, lcShell), filepath.Join(dir, "script.sh"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	runs := map[string][]string{}
	for name, f := range map[string]*falco{"keep": keep, "drop": drop} {
		if _, ok := f.wait(0, alertTimeout, func(a *alert) bool {
			return a.Rule == "lifecycle exec" && strings.Contains(a.Output, "falcoclc-end")
		}); !ok {
			errText, _ := f.stop()
			t.Fatalf("%s: no sentinel alert within %v\n%s", name, alertTimeout, errText)
		}
		errText, err := f.stop()
		if err != nil {
			t.Fatalf("falco-run (%s): %v\n%s", name, err, errText)
		}
		var got []string
		for _, a := range f.all() {
			if strings.HasPrefix(a.Rule, "lifecycle ") {
				got = append(got, eqTime.ReplaceAllString(a.Output, ""))
			}
		}
		slices.Sort(got)
		runs[name] = got
		k := kernelCounters(t, errText)
		if k.lost != 0 {
			t.Errorf("%s: %d events lost; the comparison needs none", name, k.lost)
		}
		t.Logf("%s: %d alerts; kernel: passed gate %d, dropped %d, sent %d", name, len(got), k.gate, k.dropped, k.sent)
	}
	if diff := cmp.Diff(runs["keep"], runs["drop"]); diff != "" {
		t.Errorf("process state (-every record +with the lifecycle drops):\n%s", diff)
	}
	if n := len(runs["keep"]); n < 14 {
		t.Errorf("only %d alerts: %q", n, runs["keep"])
	}
	for _, want := range []string{"vpid=1 ", "a3=" + lcShell, "cwd=/tmp/"} {
		found := false
		for _, l := range runs["keep"] {
			found = found || strings.Contains(l, want)
		}
		if !found {
			t.Errorf("no alert shows %q: the script did not exercise it\n%s", want, strings.Join(runs["keep"], "\n"))
		}
	}
}

type lcCounters struct {
	gate, dropped, sent, lost uint64
}

// kernelCounters reads falco-run's final kernel counters.
func kernelCounters(t *testing.T, errText string) lcCounters {
	t.Helper()
	var k lcCounters
	var calls uint64
	for _, line := range strings.Split(errText, "\n") {
		if _, err := fmt.Sscanf(line, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d",
			&calls, &k.gate, &k.dropped, &k.sent, &k.lost); err == nil {
			break
		}
	}
	return k
}
