package kmatrix

import (
	"fmt"
	"strings"
)

// Kernel is one kernel of the matrix: a suite of Debian's archive and the
// upstream series whose newest cloud kernel is taken from it.
type Kernel struct {
	// ID names the kernel in flags, the summary, log files and headroom
	// golden files (bpf/testdata/headroom/ID.txt).
	ID string
	// Archive is "debian" or "debian-security": which of the machine's
	// configured mirrors serves the suite.
	Archive string
	// Suite is the archive's suite (distribution).
	Suite string
	// Series is the prefix of the package version the kernel must have
	// ("5.10."); empty takes any. A suite may carry several series
	// (bookworm-security has 6.1 and 6.12, bullseye-security 5.10 and a
	// 6.1 backport).
	Series string
	// Slow marks a kernel whose run takes about twice the others' (the
	// 6.12 kernels: 7 to 8 minutes against 4 under TCG here, their
	// verifier works longest on the capture): the matrix boots the slow
	// ones first, so that the budget's end falls on a short run.
	Slow bool
}

// Archives of Debian's mirror network the kernels come from.
const (
	archiveDebian   = "debian"
	archiveSecurity = "debian-security"
)

// DefaultKernels is the matrix of issue 8: Debian's cloud kernels from
// 5.10 to the newest, all with BTF built in.
func DefaultKernels() []Kernel {
	return []Kernel{
		{ID: "bullseye-5.10", Archive: archiveSecurity, Suite: "bullseye-security", Series: "5.10."},
		{ID: "bookworm-6.1", Archive: archiveSecurity, Suite: "bookworm-security", Series: "6.1."},
		{ID: "bookworm-backports-6.12", Archive: archiveDebian, Suite: "bookworm-backports", Series: "6.12.", Slow: true},
		{ID: "trixie-6.12", Archive: archiveSecurity, Suite: "trixie-security", Series: "6.12.", Slow: true},
		{ID: "sid", Archive: archiveDebian, Suite: "sid"},
	}
}

// SelectKernels returns the kernels of DefaultKernels named in the
// comma-separated list ids, in the matrix's order ("" or "all": every
// one).
func SelectKernels(ids string) ([]Kernel, error) {
	all := DefaultKernels()
	ids = strings.TrimSpace(ids)
	if ids == "" || ids == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for _, id := range strings.Split(ids, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		found := false
		for _, k := range all {
			if k.ID == id {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown kernel %q (known: %s)", id, strings.Join(kernelIDs(all), ", "))
		}
		want[id] = true
	}
	var out []Kernel
	for _, k := range all {
		if want[k.ID] {
			out = append(out, k)
		}
	}
	return out, nil
}

func kernelIDs(ks []Kernel) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

// expectation is an alert the workload must raise: the guest's workload
// step named Workload (see guest/init.sh) must make the default rule Rule
// fire.
type expectation struct {
	Workload string
	Rule     string
}

// expectedAlerts are the default rules (rules/falco_rules.yaml) the
// guest's workload triggers.
func expectedAlerts() []expectation {
	return []expectation{
		{Workload: "read-shadow", Rule: "Read sensitive file untrusted"},
		{Workload: "write-etc", Rule: "Write below etc"},
		{Workload: "exec-dev-shm", Rule: "Execution from /dev/shm"},
	}
}

// skippedTest is a bpf test the guest does not run, for a reason that has
// nothing to do with the kernel.
type skippedTest struct {
	Name   string
	Reason string
}

// skippedTests is the one list of bpf tests the matrix skips. A test
// belongs here only when it cannot work inside the VM whatever the kernel
// (it needs a container runtime, the network, real timing); a kernel
// failure is never hidden here.
func skippedTests() []skippedTest {
	return nil
}
