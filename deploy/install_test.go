package deploy_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/falcoc/falcoc/runtime/config"
)

// TestMakeInstall stages `make install` in a temporary DESTDIR and checks
// what the systemd unit and the README promise: the binaries in
// PREFIX/bin, the rules and falco.yaml in SYSCONFDIR/falcoc, the unit
// running the installed falco-run with that falco.yaml (systemd-analyze
// verify accepts it), the installed falco-run loading that configuration
// and the installed rules, and a second install keeping an edited
// falco.yaml.
func TestMakeInstall(t *testing.T) {
	testutil.SkipIfShort(t)
	testutil.RequireCommand(t, "make")
	dest := t.TempDir()
	install := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "install", "DESTDIR="+dest, "PREFIX=/usr/local", "SYSCONFDIR=/etc")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make install: %v\n%s", err, out)
		}
	}
	install()
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/falco-run":           0o755,
		"usr/local/bin/falcoc":              0o755,
		"etc/falcoc/falco_rules.yaml":       0o644,
		"etc/falcoc/k8s_audit_rules.yaml":   0o644,
		"etc/falcoc/falco.yaml":             0o644,
		"lib/systemd/system/falcoc.service": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %o, want %o", path, fi.Mode().Perm(), mode)
		}
	}

	unit := filepath.Join(dest, "lib/systemd/system/falcoc.service")
	keys := unitKeys(t, unit)
	if diff := cmp.Diff("/usr/local/bin/falco-run -c /etc/falcoc/falco.yaml", keys["ExecStart"]); diff != "" {
		t.Errorf("ExecStart (-want +got):\n%s", diff)
	}
	if keys["WantedBy"] != "multi-user.target" || keys["Restart"] != "on-failure" {
		t.Errorf("unit keys: %v", keys)
	}
	cfgPath := filepath.Join(dest, "etc/falcoc/falco.yaml")
	cfgText, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfgText), "@") {
		t.Errorf("falco.yaml has an unsubstituted @VAR@:\n%s", cfgText)
	}
	cfg := config.Default()
	if err := cfg.Apply(cfgPath, cfgText); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/etc/falcoc/falco_rules.yaml"}, cfg.RulesFiles); diff != "" {
		t.Errorf("rules_files (-want +got):\n%s", diff)
	}

	// The installed falco-run loads the installed configuration and rules
	// (their staged copies).
	run := exec.Command(filepath.Join(dest, "usr/local/bin/falco-run"), "-c", cfgPath,
		"-r", filepath.Join(dest, "etc/falcoc/falco_rules.yaml"), "--dry-run")
	if out, err := run.CombinedOutput(); err != nil {
		t.Errorf("installed falco-run --dry-run: %v\n%s", err, out)
	}

	// systemd's own check of the unit, with ExecStart pointing at the
	// staged binary (verify wants it to exist).
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		staged := strings.ReplaceAll(string(b), "ExecStart=/usr/local/bin/", "ExecStart="+dest+"/usr/local/bin/")
		tmp := filepath.Join(t.TempDir(), "falcoc.service")
		if err := os.WriteFile(tmp, []byte(staged), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sa, "verify", tmp).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("no systemd-analyze: the unit is checked by its keys only")
	}

	// A second install keeps the administrator's falco.yaml.
	edited := append(cfgText, []byte("\n# edited\n")...)
	if err := os.WriteFile(cfgPath, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	install()
	if b, _ := os.ReadFile(cfgPath); string(b) != string(edited) {
		t.Error("make install replaced an existing falco.yaml")
	}
}

// unitKeys returns the key=value settings of a systemd unit file (the last
// one wins).
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			keys[k] = v
		}
	}
	return keys
}
