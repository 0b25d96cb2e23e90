package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
)

// eqShell is the name the equivalence script's shell runs under: every
// alert of the script names it as the process or its parent, which tells
// the script's alerts apart from anything else on the machine.
const eqShell = "falcoceq"

// eqScript triggers several default rules among many benign events. It
// runs in $1 (a scratch folder with the helper programs) and takes the
// helpers' folder ($2) and two listener addresses: $3 on 127.0.0.1 and
// $4 on a benchmark-range address given to lo.
const eqScript = `d="$1"; helpers="$2"; local="$3"; remote="$4"
cd "$d"
# Benign: files under the scratch folder, reads below /etc, listings.
i=0
while [ $i -lt 30 ]; do
	echo "line $i" > "$d/file.$i"
	cat "$d/file.$i" >> "$d/all"
	cp "$d/file.$i" "$d/copy.$i"
	grep -c line "$d/copy.$i" > /dev/null
	rm -f "$d/file.$i" "$d/copy.$i"
	i=$((i+1))
done
cat /etc/hostname /etc/passwd /etc/group > /dev/null
ls -la /etc /usr/bin > /dev/null
head -n 5 /etc/services > /dev/null
date > "$d/date"
# Benign connections: loopback, and a non-system binary.
"$d/sha1sum" "$local"
"$helpers/connect" "$local"
"$helpers/connect" "$remote"
# Alerts.
cat /etc/shadow > /dev/null
touch /etc/falcoc-eq-test
rm -f /etc/falcoc-eq-test
touch /dev/falcoc-eq-test
rm -f /dev/falcoc-eq-test
"$d/sha1sum" "$remote"
ln -s /etc/shadow "$d/shadow-link"
rm -f "$d/shadow-link"
echo log > /var/log/falcoc-eq.log
: > /var/log/falcoc-eq.log
rm -f /var/log/falcoc-eq.log
find / -maxdepth 1 -name id_rsa > /dev/null
"$d/nc" -e /bin/sh 127.0.0.1 1
"$helpers/packet"
"$helpers/tracer"
"$helpers/modload"
"$helpers/memfdexec"
cp /bin/true /dev/shm/falcoc-eq-true
/dev/shm/falcoc-eq-true
rm -f /dev/shm/falcoc-eq-true
# More benign work after the alerts.
ls "$d" > /dev/null
sort "$d/all" | uniq | wc -l > /dev/null
# The sentinel: once its alert is out, every event before it was judged.
cat /etc/shadow "$d/end"
`

// eqRules are the rules the script must trigger (checked on the run
// without prefilter, so that the comparison is not between two empty
// sets).
var eqRules = []string{
	"Read sensitive file untrusted", "Write below etc", "Create files below dev",
	"System binary outbound connection", "Create Symlink Over Sensitive Files", "Clear Log Activities",
	"Search Private Keys or Passwords", "Netcat Remote Code Execution", "Packet socket created",
	"PTRACE attached to process", "Linux Kernel Module Injection Detected",
	"Fileless execution via memfd_create", "Execution from /dev/shm",
}

// What differs between two runs of the same script: the time, and the
// local port of a connection.
var (
	eqTime  = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}\.\d+: `)
	eqLport = regexp.MustCompile(`lport=\d+`)
	eqConn  = regexp.MustCompile(`:\d+->`)
)

// normalise keeps what must be equal between the two runs of an alert.
func normalise(a *alert) string {
	out := eqTime.ReplaceAllString(a.Output, "")
	out = eqLport.ReplaceAllString(out, "lport=N")
	out = eqConn.ReplaceAllString(out, ":N->")
	return a.Rule + " | " + a.Priority + " | " + out
}

// listen accepts and closes connections on addr until the test ends.
func listen(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

// eqRun runs the script under falco-run with the given prefilter mode and
// returns the script's alerts, normalised and sorted, and falco-run's
// "dropped by prefilter" count.
func eqRun(t *testing.T, mode, dir, local, remote string) ([]string, uint64) {
	t.Helper()
	f := startFalco(t, "--prefilter", mode)
	cmd := exec.Command(filepath.Join(dir, eqShell), filepath.Join(dir, "script.sh"), dir, bin, local, remote)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script under --prefilter=%s: %v\n%s", mode, err, out)
	}
	end := filepath.Join(dir, "end")
	if _, ok := f.wait(0, alertTimeout, func(a *alert) bool {
		return a.Rule == "Read sensitive file untrusted" && strings.Contains(a.field("proc.cmdline"), end)
	}); !ok {
		errText, _ := f.stop()
		t.Fatalf("--prefilter=%s: no sentinel alert within %v\n%s", mode, alertTimeout, errText)
	}
	errText, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run --prefilter=%s: %v\n%s", mode, err, errText)
	}
	var got []string
	for _, a := range f.all() {
		if strings.Contains(a.Output, "process="+eqShell+" ") || strings.Contains(a.Output, "parent="+eqShell+" ") {
			got = append(got, normalise(&a))
		}
	}
	slices.Sort(got)
	var calls, gate, dropped, sent, lost uint64
	for _, line := range strings.Split(errText, "\n") {
		if _, err := fmt.Sscanf(line, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d",
			&calls, &gate, &dropped, &sent, &lost); err == nil {
			break
		}
	}
	if lost != 0 {
		t.Errorf("--prefilter=%s: %d events lost; the comparison needs none", mode, lost)
	}
	return got, dropped
}

// TestPrefilterEquivalence runs the same scripted workload under
// --prefilter=off and --prefilter=full: the kernel prefilter may drop
// only what no rule can match, so the alerts must be the same.
func TestPrefilterEquivalence(t *testing.T) {
	requireLive(t)
	testutil.RequireCommand(t, "ip")
	const remoteIP = "198.18.0.1"
	out, err := exec.Command("ip", "addr", "add", remoteIP+"/32", "dev", "lo").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") && !strings.Contains(string(out), "already assigned") {
		t.Fatalf("ip addr add: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", remoteIP+"/32", "dev", "lo").Run() })
	local := listen(t, "127.0.0.1:0")
	remote := listen(t, remoteIP+":0")

	// The same folder, with the same programs, for both runs: paths are
	// part of the alerts.
	dir := t.TempDir()
	copyFile(t, "/bin/sh", filepath.Join(dir, eqShell), 0o755)
	copyFile(t, filepath.Join(bin, "connect"), filepath.Join(dir, "sha1sum"), 0o755)
	copyFile(t, "/bin/true", filepath.Join(dir, "nc"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "script.sh"), []byte(eqScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "end"), []byte("end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range []string{"/etc/falcoc-eq-test", "/dev/falcoc-eq-test", "/var/log/falcoc-eq.log", "/dev/shm/falcoc-eq-true"} {
			os.Remove(p)
		}
	})

	// No retry: the one difference ever seen (the memfd exec's alert with
	// proc.pname <NA> under one mode) came from the state losing a process
	// whose non-leader thread exec'd after the leader's exit record, fixed
	// in runtime/state (TestExecAfterLeaderExit).
	off, _ := eqRun(t, "off", dir, local, remote)
	// Let the state of the first run's processes go before the second.
	time.Sleep(100 * time.Millisecond)
	full, dropped := eqRun(t, "full", dir, local, remote)
	var problems []string
	for _, rule := range eqRules {
		if !slices.ContainsFunc(off, func(s string) bool { return strings.HasPrefix(s, rule+" | ") }) {
			problems = append(problems, fmt.Sprintf("--prefilter=off: the script raised no %q alert", rule))
		}
	}
	if diff := cmp.Diff(off, full); diff != "" {
		problems = append(problems, fmt.Sprintf("alerts differ between --prefilter=off and full (-off +full):\n%s", diff))
	}
	for _, p := range problems {
		t.Error(p)
	}
	if dropped == 0 {
		t.Errorf("--prefilter=full dropped nothing in the kernel: the comparison would not test the prefilter")
	}
	t.Logf("%d alerts in each mode; --prefilter=full dropped %d events in the kernel", len(off), dropped)
}
