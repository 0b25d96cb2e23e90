package kmatrix

import (
	"bufio"
	"compress/gzip"
	"context"
	"debug/elf"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

//go:embed guest/init.sh
var initScript []byte

// guestConfig is what /init reads from /kmatrix/config.
type guestConfig struct {
	// TestTimeout is the test binary's -test.timeout.
	TestTimeout time.Duration
	// TestSkip and TestRun are -test.skip and -test.run ("" for none).
	TestSkip, TestRun string
	// ReadyTimeout bounds the wait for falco-run's ready line, and
	// StopTimeout the wait for it to exit after SIGINT.
	ReadyTimeout, StopTimeout time.Duration
}

// render writes the configuration as shell assignments.
func (c guestConfig) render() string {
	return fmt.Sprintf("KM_TEST_TIMEOUT=%s\nKM_TEST_SKIP=%s\nKM_TEST_RUN=%s\nKM_READY_TIMEOUT=%d\nKM_STOP_TIMEOUT=%d\n",
		shellQuote(c.TestTimeout.String()), shellQuote(c.TestSkip), shellQuote(c.TestRun),
		int(c.ReadyTimeout.Seconds()), int(c.StopTimeout.Seconds()))
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// guestInputs are the host files the initramfs is built from.
type guestInputs struct {
	// Busybox is busybox-static's binary.
	Busybox string
	// TestBinary is the bpf package's test binary and FalcoRun falco-run,
	// both statically linked.
	TestBinary, FalcoRun string
	// TestData is the bpf package's testdata directory ("" or missing:
	// none); the tests run in a directory holding it.
	TestData string
	// Modules are the kernels' modules for /init to insmod: below
	// kmatrix/modules/RELEASE, with their order file, where /init finds
	// those of the kernel it runs on (`uname -r`).
	Modules []*kernelModules
	Config  guestConfig
}

// hostPrograms are the machine's programs the bpf tests and the workload
// run by path or from PATH: events_test.go execs /bin/true and /bin/sh,
// order_test.go taskset and cat; the workload uses cat, dash and true.
// They are copied with their shared libraries, at the same paths.
func hostPrograms() []string {
	return []string{"/bin/sh", "/bin/dash", "/bin/true", "/bin/cat", "/usr/bin/taskset"}
}

// guestEtc are the guest's /etc files: the tests open /etc/hostname,
// /etc/hosts and /etc/passwd; the workload reads /etc/shadow (a fake one:
// never the host's).
func guestEtc() map[string]string {
	return map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"etc/group":    "root:x:0:\nnogroup:x:65534:\n",
		"etc/shadow":   "root:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n",
		"etc/hostname": "kmatrix\n",
		"etc/hosts":    "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
	}
}

// buildInitramfs writes the guest's initramfs (cpio newc, gzip) to dst.
func buildInitramfs(ctx context.Context, in guestInputs, dst string) error {
	t := tree{}
	for _, d := range []string{"proc", "sys", "dev", "run", "root", "mnt", "bb", "kmatrix/work/bpf"} {
		t.addDir(d)
	}
	t["tmp"] = cpioEntry{Name: "tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777}
	// Mirror the host's merged /usr (bin → usr/bin, ...), so that programs
	// and libraries keep their paths.
	for _, d := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		if target, err := os.Readlink("/" + d); err == nil {
			t.addSymlink(d, target)
		}
	}
	t.addFile("init", 0o755, initScript)
	for name, content := range guestEtc() {
		t.addFile(name, 0o644, []byte(content))
	}
	t["etc/shadow"] = cpioEntry{Name: "etc/shadow", Mode: 0o640, Data: []byte(guestEtc()["etc/shadow"])}
	if err := addHostFile(t, in.Busybox, "bb/busybox"); err != nil {
		return err
	}
	for _, f := range []struct{ src, dst string }{{in.TestBinary, "kmatrix/bpf.test"}, {in.FalcoRun, "kmatrix/falco-run"}} {
		if err := checkStatic(f.src); err != nil {
			return err
		}
		if err := addHostFile(t, f.src, f.dst); err != nil {
			return err
		}
	}
	t.addFile("kmatrix/config", 0o644, []byte(in.Config.render()))
	if in.TestData != "" {
		if err := addHostTree(t, in.TestData, "kmatrix/work/bpf/testdata"); err != nil {
			return err
		}
	}
	for _, km := range in.Modules {
		if err := addModules(t, km); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, p := range hostPrograms() {
		if err := addHostProgram(ctx, t, p, seen); err != nil {
			return err
		}
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	err = writeCpio(zw, t)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", dst, err)
	}
	return nil
}

// guestModules is the initramfs directory of the kernels' modules.
const guestModules = "kmatrix/modules"

// addModules adds a kernel's modules and their order file below
// guestModules/RELEASE.
func addModules(t tree, km *kernelModules) error {
	dst := path.Join(guestModules, km.Release)
	for _, n := range km.Names {
		if err := addHostFile(t, filepath.Join(km.Dir, n+".ko"), path.Join(dst, n+".ko")); err != nil {
			return err
		}
	}
	t.addFile(path.Join(dst, modulesOrder), 0o644, []byte(strings.Join(km.Names, "\n")+"\n"))
	return nil
}

// checkStatic fails unless bin is a statically linked ELF executable.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("%s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0", bin)
		}
	}
	return nil
}

// addHostFile adds the host's regular file src at dst, keeping its
// permission bits.
func addHostFile(t tree, src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	t.addFile(dst, st.Mode().Perm(), data)
	return nil
}

// addHostTree adds a host directory's files below dst.
func addHostTree(t tree, src, dst string) error {
	if _, err := os.Stat(src); os.IsNotExist(err) {
		return nil
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			t.addDir(name)
		case d.Type().IsRegular():
			return addHostFile(t, p, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initramfs: testdata: %w", err)
	}
	return nil
}

// addHostProgram adds a host file at its own path: a symbolic link as a
// link (and its target), an ELF program with the shared libraries ldd
// lists for it. Directories on the way are resolved on the host, so that
// /bin/true lands in usr/bin when /bin is a link to usr/bin.
func addHostProgram(ctx context.Context, t tree, p string, seen map[string]bool) error {
	if seen[p] {
		return nil
	}
	seen[p] = true
	dir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return fmt.Errorf("initramfs: %s: %w", p, err)
	}
	real := filepath.Join(dir, filepath.Base(p))
	st, err := os.Lstat(real)
	if err != nil {
		return fmt.Errorf("initramfs: host program: %w", err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(real)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		t.addSymlink(real, target)
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		return addHostProgram(ctx, t, target, seen)
	}
	if err := addHostFile(t, real, real); err != nil {
		return err
	}
	libs, err := sharedLibraries(ctx, real)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := addHostProgram(ctx, t, l, seen); err != nil {
			return err
		}
	}
	return nil
}

// sharedLibraries lists the absolute paths ldd prints for an ELF file
// (nothing for a static one or a script).
func sharedLibraries(ctx context.Context, p string) ([]string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, nil // not ELF: nothing to resolve
	}
	dynamic := false
	for _, pr := range f.Progs {
		if pr.Type == elf.PT_INTERP || pr.Type == elf.PT_DYNAMIC {
			dynamic = true
		}
	}
	f.Close()
	if !dynamic {
		return nil, nil
	}
	out, err := exec.CommandContext(ctx, "ldd", p).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", p, err)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, w := range strings.Fields(line) {
			if strings.HasPrefix(w, "/") {
				libs = append(libs, w)
			}
		}
	}
	return libs, nil
}
