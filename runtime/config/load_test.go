package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// files writes name → body below a new folder and returns it.
func files(t *testing.T, fs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range fs {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestConfigFiles(t *testing.T) {
	dir := files(t, map[string]string{
		"falco.yaml": "config_files:\n  - DIR/conf.d\n  - path: DIR/over.yaml\n    strategy: override\n  - path: DIR/addonly.yaml\n    strategy: add-only\n  - DIR/missing.yaml\n" +
			"rules_files: [a.yaml]\njson_output: false\nwebserver: {enabled: true, listen_port: 9000}\n",
		// Folder entries merge in name order, with the default strategy
		// (append): sequences grow, other keys are replaced whole.
		"conf.d/10-a.yaml": "rules_files: [b.yaml]\njson_output: true\n",
		"conf.d/20-b.yaml": "rules_files: [c.yaml]\nwebserver: {enabled: true}\n",
		"over.yaml":        "rules_files: [d.yaml]\n",
		"addonly.yaml":     "rules_files: [e.yaml]\npriority: warning\n",
	})
	fixDir(t, dir, "falco.yaml")
	c, err := Load(filepath.Join(dir, "falco.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"d.yaml"}, c.RulesFiles); diff != "" {
		t.Errorf("rules_files (-want +got)\n%s", diff)
	}
	if !c.JSONOutput || c.Priority != "warning" {
		t.Errorf("json_output %v priority %q, want true and warning", c.JSONOutput, c.Priority)
	}
	// conf.d/20-b.yaml replaced webserver whole: the port is the default.
	if !c.Webserver.Enabled || c.Webserver.ListenPort != 8765 {
		t.Errorf("webserver %+v, want enabled on the default port", c.Webserver)
	}
	want := []string{"falco.yaml", "conf.d/10-a.yaml", "conf.d/20-b.yaml", "over.yaml", "addonly.yaml"}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if diff := cmp.Diff(want, c.Files); diff != "" {
		t.Errorf("files (-want +got)\n%s", diff)
	}

	// -o config_files=... replaces the file's list before the merge.
	over, err := ConfigFilesOverride([]string{"json_output=true", "config_files=" + filepath.Join(dir, "conf.d/10-a.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	c, err = Load(filepath.Join(dir, "falco.yaml"), over)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.yaml", "b.yaml"}, c.RulesFiles); diff != "" {
		t.Errorf("rules_files with -o config_files (-want +got)\n%s", diff)
	}
}

// fixDir replaces DIR with dir in the file name.
func fixDir(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigFilesErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"includes itself", map[string]string{"falco.yaml": "config_files: [DIR/falco.yaml]\n"},
			"DIR/falco.yaml: config_files[0]: DIR/falco.yaml includes the main configuration file"},
		{"nested include", map[string]string{"falco.yaml": "config_files: [DIR/a.yaml]\n", "a.yaml": "x: 1\nconfig_files: [b.yaml]\n"},
			"DIR/a.yaml:2:1: config_files: an included file cannot include others"},
		{"bad strategy", map[string]string{"falco.yaml": "config_files:\n  - path: a.yaml\n    strategy: merge\n"},
			`DIR/falco.yaml:3:15: config_files[0].strategy: expected append, override or add-only, got "merge"`},
		{"bad value in include", map[string]string{"falco.yaml": "config_files: [DIR/a.yaml]\n", "a.yaml": "\njson_output: maybe\n"},
			`DIR/a.yaml:2:14: json_output: expected a boolean, got "maybe"`},
		{"syntax error in include", map[string]string{"falco.yaml": "config_files: [DIR/a.yaml]\n", "a.yaml": "a: [\n"},
			`DIR/a.yaml:1: did not find expected node content`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := files(t, tc.files)
			fixDir(t, dir, "falco.yaml")
			_, err := Load(filepath.Join(dir, "falco.yaml"), nil)
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if err == nil || err.Error() != want {
				t.Errorf("got %v\nwant %s", err, want)
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	p := writeFile(t, "json_output: true\ncapture:\n  enabled: false\nengine:\n  kind: modern_ebpf\n  kmod: {buf_size_preset: 4}\n"+
		"webserver:\n  enabled: true\n  listen_prot: 1\ngrpc: {enabled: false}\nplugins:\n  - name: x\n    init_config: {anything: 1}\n    nope: 2\nmystery: 1\n")
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, strings.TrimPrefix(w.String(), p))
	}
	want := []string{
		":2:1: capture: not supported by falcoc (ignored)",
		":6:3: engine.kmod: not supported by falcoc (ignored)",
		":9:3: webserver.listen_prot: unknown key (ignored)",
		":14:5: plugins.nope: unknown key (ignored)",
		":15:1: mystery: unknown key (ignored)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
