package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/catalog"
)

func runFalcoc(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := NewFalcocCommand(Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	code = Main(cmd, args)
	return out.String(), errb.String(), code
}

func TestFieldsJSON(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		sources []string
	}{
		{"all", []string{"fields", "--json"}, []string{catalog.SourceSyscall, catalog.SourceK8sAudit}},
		{"syscall", []string{"fields", "--json", "--source", "syscall"}, []string{catalog.SourceSyscall}},
		{"k8s_audit", []string{"fields", "--json", "--source=k8s_audit"}, []string{catalog.SourceK8sAudit}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runFalcoc(t, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			var got []fieldJSON
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			want := 0
			for _, f := range catalog.Fields() {
				if f.Flags&catalog.FlagHidden == 0 && contains(tc.sources, f.Source) {
					want++
				}
			}
			if len(got) != want {
				t.Errorf("%d fields, want %d", len(got), want)
			}
			byName := map[string]fieldJSON{}
			for _, f := range got {
				if !contains(tc.sources, f.Source) {
					t.Errorf("%s has source %s", f.Name, f.Source)
				}
				if f.Name == "evt.dir" {
					t.Error("hidden field evt.dir listed")
				}
				if f.Flags == nil {
					t.Errorf("%s: flags is null, want an array", f.Name)
				}
				byName[f.Name] = f
			}
			checks := map[string]fieldJSON{
				catalog.SourceSyscall: {
					Name: "proc.aname", Type: "CHARBUF", Arg: "index", Flags: []string{"no_rhs", "no_transformer"},
					Class: "process", Source: "syscall", Description: byName["proc.aname"].Description,
				},
				catalog.SourceK8sAudit: {
					Name: "ka.user.groups", Type: "CHARBUF", List: true, Flags: []string{"list"},
					Class: "k8saudit", Source: "k8s_audit", Description: byName["ka.user.groups"].Description,
				},
			}
			for _, src := range tc.sources {
				want := checks[src]
				if diff := cmp.Diff(want, byName[want.Name]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", want.Name, diff)
				}
				if want.Description == "" {
					t.Errorf("%s has no description", want.Name)
				}
			}
			if f, ok := byName["evt.arg"]; ok {
				want := fieldJSON{Name: "evt.arg", Type: "CHARBUF", Arg: "index_or_key", ArgRequired: true,
					Flags: []string{"dot_arg"}, Class: "evt-for-syscalls", Source: "syscall", Description: f.Description}
				if diff := cmp.Diff(want, f); diff != "" {
					t.Errorf("evt.arg (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestFieldsText(t *testing.T) {
	stdout, stderr, code := runFalcoc(t, "fields")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	for _, want := range []string{
		"Field class: evt (source syscall)",
		"Field class: process (source syscall)",
		"Field class: container (source syscall)",
		"Field class: k8saudit (source k8s_audit)",
		"Field class: jevt (source k8s_audit)",
	} {
		if !contains(lines, want) {
			t.Errorf("output lacks the line %q", want)
		}
	}
	// One row per field: name, type, argument, description.
	rows := map[string][]string{}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = f
		}
	}
	tests := []struct {
		name string
		want []string // leading columns
	}{
		{"proc.aname", []string{"proc.aname", "CHARBUF", "[N]", "(optional)"}},
		{"container.label", []string{"container.label", "CHARBUF", "[KEY]", "or", ".KEY", "(required)"}},
		{"fd.types", []string{"fd.types", "LIST(CHARBUF)", "[N]", "(optional)"}},
		{"fd.sport", []string{"fd.sport", "PORT", "server", "port"}},
	}
	for _, tc := range tests {
		got := rows[tc.name]
		if len(got) > len(tc.want) {
			got = got[:len(tc.want)]
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("row %s (-want +got):\n%s", tc.name, diff)
		}
	}
	if _, ok := rows["evt.dir"]; ok {
		t.Error("hidden field evt.dir listed")
	}
}

func TestFieldsErrors(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"fields", "--source", "plugin"}, "falcoc: invalid --source \"plugin\": want syscall or k8s_audit\n"},
		{[]string{"fields", "extra"}, "falcoc: unknown command \"extra\" for \"falcoc fields\"\n"},
	}
	for _, tc := range tests {
		stdout, stderr, code := runFalcoc(t, tc.args...)
		if code != 1 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		if stderr != tc.wantErr {
			t.Errorf("%v: stderr %q, want %q", tc.args, stderr, tc.wantErr)
		}
	}
}
