package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/internal/testutil"
)

// TestProcCwdAsFalco: proc.cwd as libsinsp keeps it (update_cwd: the
// path given to chdir joined to the previous one, cleaned, ending with a
// slash; a symlink is not resolved), through a shell's cd, a relative
// chdir and a symlinked directory (issue 13 part 6).
func TestProcCwdAsFalco(t *testing.T) {
	requireLive(t)
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	link := filepath.Join(dir, "link")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sub, link); err != nil {
		t.Fatal(err)
	}
	probe := "/etc/falcoc-e2e-part6-cwd"
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(probe) })
	f := startFalco(t, "-r", filepath.Join("testdata", "part6_rules.yaml"))
	cases := []struct {
		script, want string
	}{
		{"cd " + dir + " && cat " + probe, dir + "/"},
		{"cd " + dir + " && cd sub && cat " + probe, sub + "/"},
		{"cd " + link + " && cat " + probe, link + "/"},
		{"cd / && cat " + probe, "/"},
		{"cd " + dir + " && python3 -c 'import os; os.chdir(\"sub/..\"); open(\"" + probe + "\")'", dir + "/"},
	}
	for i, c := range cases {
		if c.script[len(c.script)-2:] == "\")'" {
			if _, err := exec.LookPath("python3"); err != nil {
				continue
			}
		}
		from := len(f.all())
		runCmd(t, false, "bash", "-c", c.script)
		a, ok := f.wait(from, alertTimeout, func(a *alert) bool { return a.Rule == "Part6 probe" })
		if !ok {
			t.Fatalf("case %d (%s): no alert:\n%s", i, c.script, f.errText())
		}
		if got := a.field("proc.cwd"); got != c.want {
			t.Errorf("case %d (%s): proc.cwd %q, want %q", i, c.script, got, c.want)
		}
	}
}

// TestNewUserResolves: a system user created just before its process
// runs has its name in user.name at once, as in Falco, not <NA> until
// the users table is re-read (issue 13 part 6).
func TestNewUserResolves(t *testing.T) {
	requireLive(t)
	for _, tool := range []string{"useradd", "userdel", "setpriv"} {
		testutil.RequireCommand(t, tool)
	}
	probe := "/etc/falcoc-e2e-part6-user"
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(probe) })
	f := startFalco(t, "-r", filepath.Join("testdata", "part6_rules.yaml"))
	name := fmt.Sprintf("fce2e%d", os.Getpid()%100000)
	if _, err := user.Lookup(name); err == nil {
		t.Fatalf("user %s exists already", name)
	}
	// Let falco-run read the users table before the user exists.
	from := len(f.all())
	runCmd(t, false, "cat", probe)
	if _, ok := f.wait(from, alertTimeout, func(a *alert) bool { return a.Rule == "Part6 probe" }); !ok {
		t.Fatalf("no alert for root's open:\n%s", f.errText())
	}
	runCmd(t, false, "useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name)
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	from = len(f.all())
	runCmd(t, false, "setpriv", "--reuid="+u.Uid, "--regid="+u.Gid, "--clear-groups", "cat", probe)
	a, ok := f.wait(from, alertTimeout, func(a *alert) bool { return a.Rule == "Part6 probe" && a.field("user.uid") == u.Uid })
	if !ok {
		t.Fatalf("no alert for %s's open:\n%s", name, f.errText())
	}
	if got := a.field("user.name"); got != name {
		t.Errorf("user.name %q, want %q (output: %s)", got, name, strings.TrimSpace(a.Output))
	}
}
