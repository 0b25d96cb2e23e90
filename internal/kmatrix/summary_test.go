package kmatrix

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteSummary(t *testing.T) {
	rep, err := ParseReport(strings.NewReader(sampleLog))
	if err != nil {
		t.Fatal(err)
	}
	failing := &Result{
		Kernel: Kernel{ID: "bookworm-6.1"},
		Image: &kernelImage{Package: "linux-image-6.1.0-57-cloud-amd64", Version: "6.1.192-3",
			Modules: &kernelModules{Release: "6.1.0-57-cloud-amd64", Names: []string{"foo", "overlay"}}},
		Duration:   83 * time.Second,
		Report:     rep,
		Tests:      summarizeTests(rep.Steps[stepTests]),
		Falco:      summarizeFalcoRun(rep),
		Headroom:   HeadroomResult{Status: HeadroomNoGolden, Note: "no golden file: run the matrix with -update and commit x/bookworm-6.1.txt"},
		ResultsLog: "logs/bookworm-6.1.log", ConsoleLog: "logs/bookworm-6.1.console.log",
	}
	broken := &Result{
		Kernel:     Kernel{ID: "sid"},
		Err:        errors.New("fetch kernel: sid: no cloud kernel"),
		ResultsLog: "logs/sid.log", ConsoleLog: "logs/sid.console.log",
	}
	var b strings.Builder
	if err := WriteSummary(&b, []*Result{failing, broken}); err != nil {
		t.Fatal(err)
	}
	want := `KERNEL        RELEASE               MODULES       BPF TESTS                                  FALCO-RUN  ALERTS  HEADROOM   TIME   RESULT
bookworm-6.1  6.1.0-57-cloud-amd64  FAIL overlay  FAIL 2 of 5: TestPathPrefilter, TestModes  started    2/3     no golden  1m23s  FAIL
sid           -                     -             -                                          -          -       -          0s     FAIL

== bookworm-6.1 (linux-image-6.1.0-57-cloud-amd64 6.1.192-3): FAIL
  module overlay did not load: insmod: can't insert '/kmatrix/modules/6.1.0-57-cloud-amd64/overlay.ko': invalid module format
  bpf tests failing (2): TestPathPrefilter, TestModes
    Load: kernel 6.1.0-57-cloud-amd64 refused on_sys_exit: func 'sched_process_exit' doesn't have 2-th argument
      in TestPathPrefilter, TestModes
  alerts fired: Read sensitive file untrusted, Write below etc; missing: Execution from /dev/shm
    workloads: read-shadow rc=0, write-etc rc=0, exec-dev-shm rc=0; other alerts: none
  headroom: no golden: no golden file: run the matrix with -update and commit x/bookworm-6.1.txt
  logs: logs/bookworm-6.1.log (results), logs/bookworm-6.1.console.log (console)

== sid: FAIL
  error: fetch kernel: sid: no cloud kernel
  logs: logs/sid.log (results), logs/sid.console.log (console)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	wantFailures := []string{
		"module overlay did not load: insmod: can't insert '/kmatrix/modules/6.1.0-57-cloud-amd64/overlay.ko': invalid module format",
		"bpf tests failed: TestPathPrefilter, TestModes",
		"alerts missing: Execution from /dev/shm",
		"headroom no golden: no golden file: run the matrix with -update and commit x/bookworm-6.1.txt",
	}
	if diff := cmp.Diff(wantFailures, failing.Failures()); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestModuleFailures: a module the guest found nothing for, or never
// reported, fails the kernel; loaded modules do not.
func TestModuleFailures(t *testing.T) {
	img := &kernelImage{Modules: &kernelModules{Release: "6.12.95+deb12-cloud-amd64", Names: []string{"overlay"}}}
	tests := []struct {
		log  string
		want []string
		cell string
	}{
		{"@@kmatrix begin\n@@kmatrix uname 6.12.95+deb12-cloud-amd64\n@@kmatrix module overlay loaded\n", nil, "overlay"},
		{"@@kmatrix begin\n@@kmatrix uname 6.12.96+deb12-cloud-amd64\n@@kmatrix modules none\n",
			[]string{"module overlay not loaded: the guest (release 6.12.96+deb12-cloud-amd64) found no modules for its release; the host's are for 6.12.95+deb12-cloud-amd64"}, "FAIL overlay"},
		{"@@kmatrix begin\n", []string{"module overlay not loaded: the guest did not report it"}, "FAIL overlay"},
		{"", nil, "-"},
	}
	for _, tc := range tests {
		rep, err := ParseReport(strings.NewReader(tc.log))
		if err != nil {
			t.Fatal(err)
		}
		r := &Result{Image: img, Report: rep}
		if diff := cmp.Diff(tc.want, r.moduleFailures()); diff != "" {
			t.Errorf("%q: module failures (-want +got):\n%s", tc.log, diff)
		}
		if got := r.modulesCell(); got != tc.cell {
			t.Errorf("%q: cell %q, want %q", tc.log, got, tc.cell)
		}
	}
}

func TestVMTimeouts(t *testing.T) {
	now := time.Unix(1000, 0)
	o := Options{Timeout: 8 * time.Minute, TestTimeout: 5 * time.Minute}
	vm, tests, ok := vmTimeouts(o, time.Time{}, now)
	if vm != 8*time.Minute || tests != 5*time.Minute || !ok {
		t.Errorf("no budget: %s %s %v", vm, tests, ok)
	}
	vm, tests, ok = vmTimeouts(o, now.Add(6*time.Minute), now)
	if vm != 6*time.Minute || tests != 6*time.Minute-guestOverhead || !ok {
		t.Errorf("6m left: %s %s %v", vm, tests, ok)
	}
	if _, _, ok := vmTimeouts(o, now.Add(guestOverhead+minTestTime), now); !ok {
		t.Error("just enough left: not booted")
	}
	if _, _, ok := vmTimeouts(o, now.Add(guestOverhead+minTestTime-time.Second), now); ok {
		t.Error("too little left: booted")
	}
}

func TestSelectKernels(t *testing.T) {
	ks, err := SelectKernels("sid, bullseye-5.10")
	if err != nil || !cmp.Equal(kernelIDs(ks), []string{"bullseye-5.10", "sid"}) {
		t.Errorf("SelectKernels: %v, %v", kernelIDs(ks), err)
	}
	if ks, err := SelectKernels("all"); err != nil || len(ks) != 5 {
		t.Errorf("all: %v, %v", kernelIDs(ks), err)
	}
	if _, err := SelectKernels("sid,jessie"); err == nil || !strings.Contains(err.Error(), `unknown kernel "jessie"`) {
		t.Errorf("unknown kernel: %v", err)
	}
}

func TestGuestConfig(t *testing.T) {
	c := guestConfig{TestTimeout: 3 * time.Minute, TestSkip: "^(TestA|TestB)$", TestRun: "it's", ReadyTimeout: 90 * time.Second, StopTimeout: 20 * time.Second}
	want := "KM_TEST_TIMEOUT='3m0s'\nKM_TEST_SKIP='^(TestA|TestB)$'\nKM_TEST_RUN='it'\\''s'\nKM_READY_TIMEOUT=90\nKM_STOP_TIMEOUT=20\n"
	if got := c.render(); got != want {
		t.Errorf("render:\n%s\nwant:\n%s", got, want)
	}
	if got := anchoredAlternation([]string{"TestA", "TestB"}); got != "^(TestA|TestB)$" {
		t.Errorf("anchoredAlternation = %q", got)
	}
}

func TestAptParsing(t *testing.T) {
	out := "Package: qemu-system-x86\nVersion: 1:10.0.2+ds-2\nDepends: libaio1 (>= 0.3.93), libc6 (>= 2.34), qemu-system-common (= 1:10.0.2+ds-2), seabios (>> 1.16.3-1~), libfoo1 | libbar1, ipxe-qemu\nDescription: QEMU\n more text\n\nPackage: seabios\nVersion: 1.16.3-2\n"
	st := parseStanzas([]byte(out))
	if len(st) != 2 || st[0]["Version"] != "1:10.0.2+ds-2" || st[1]["Package"] != "seabios" || st[0]["Description"] != "QEMU\nmore text" {
		t.Fatalf("parseStanzas: %q", st)
	}
	want := []string{"libaio1", "libc6", "libfoo1"}
	if got := libraryDepends(st[0]["Depends"]); !cmp.Equal(got, want) {
		t.Errorf("libraryDepends = %q, want %q", got, want)
	}
}

func TestParseIndexTargets(t *testing.T) {
	out := "http://mirror.example/debian-security/|bookworm-security\nhttp://mirror.example/debian/|bookworm\nhttp://mirror.example/debian/|bookworm-updates\n"
	deb, sec := parseIndexTargets(out)
	if deb != "http://mirror.example/debian" || sec != "http://mirror.example/debian-security" {
		t.Errorf("parseIndexTargets = %q, %q", deb, sec)
	}
	deb, _ = parseIndexTargets("http://other.example/pub/|bookworm\n")
	if deb != "http://other.example/pub" {
		t.Errorf("no /debian URI: %q", deb)
	}
}

// TestBootOrder: the slow kernels boot first in the matrix's order, then
// the others newest first, and a kernel that already failed is not
// booted.
func TestBootOrder(t *testing.T) {
	var results []*Result
	for _, k := range DefaultKernels() {
		results = append(results, &Result{Kernel: k})
	}
	results[0].Err = errors.New("no image")
	var got []string
	for _, r := range bootOrder(results) {
		got = append(got, r.Kernel.ID)
	}
	want := []string{"bookworm-backports-6.12", "trixie-6.12", "sid", "bookworm-6.1"}
	if !slices.Equal(got, want) {
		t.Errorf("boot order %v, want %v", got, want)
	}
}
