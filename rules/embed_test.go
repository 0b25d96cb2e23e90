package rules

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDefaultsHaveNoAuditRules: falco-run loads every embedded file when
// no rule file is given; a k8s_audit rule among them would open the audit
// webhook's port by default.
func TestDefaultsHaveNoAuditRules(t *testing.T) {
	names, err := fs.Glob(FS, "*")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{DefaultFile}, names); diff != "" {
		t.Errorf("embedded files (-want +got):\n%s", diff)
	}
	for _, n := range names {
		b, err := FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "source: k8s_audit") {
			t.Errorf("%s has k8s_audit rules", n)
		}
	}
}
