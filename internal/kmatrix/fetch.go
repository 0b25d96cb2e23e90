package kmatrix

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// fetcher downloads and unpacks what the matrix boots, below a cache
// directory:
//
//	apt/SUITE/           private apt configuration and state per suite
//	debs/                .deb files kept between runs (QEMU, busybox)
//	kernels/PKG_VER/     a kernel's vmlinuz and modules/, the modules the
//	                     guest loads (the .debs are not kept)
//	qemu/VER/root/       QEMU and its firmware, unpacked
//	busybox/VER/busybox  busybox-static's binary
//
// What is in the cache is not fetched again; only the package lists are
// refreshed when older than maxAge.
type fetcher struct {
	cache    string
	mirrors  map[string]string // archive → URI
	maxAge   time.Duration
	log      io.Writer
	suites   map[string]*aptSuite
	installQ bool // install QEMU's missing shared libraries with the machine's apt-get
}

// suite returns the private apt state of an archive's suite, its lists
// fetched.
func (f *fetcher) suite(ctx context.Context, archive, suite string) (*aptSuite, error) {
	if a := f.suites[suite]; a != nil {
		return a, nil
	}
	mirror := f.mirrors[archive]
	if mirror == "" {
		return nil, fmt.Errorf("no mirror for the %s archive", archive)
	}
	a, err := newAptSuite(filepath.Join(f.cache, "apt", suite), mirror, suite, f.log)
	if err != nil {
		return nil, err
	}
	if err := a.update(ctx, f.maxAge); err != nil {
		return nil, fmt.Errorf("package lists of %s: %w", suite, err)
	}
	f.suites[suite] = a
	return a, nil
}

// kernelImage is a resolved and fetched kernel.
type kernelImage struct {
	// Package and Version name the package the vmlinuz came from.
	Package, Version string
	// Vmlinuz is the kernel image's path in the cache.
	Vmlinuz string
	// Modules are the [neededModules] and their dependencies, unpacked.
	Modules *kernelModules
}

// cloudImage matches the versioned cloud kernel packages
// (linux-image-6.1.0-42-cloud-amd64), not the meta package, debug symbols
// or unsigned images.
var cloudImage = regexp.MustCompile(`^linux-image-([0-9][^ ]*)-cloud-amd64$`)

// kernel resolves the newest cloud kernel of k's suite and series from
// the suite's package lists and returns its vmlinuz and the modules the
// guest loads ([neededModules]), fetching them unless cached. Since 7.x
// the image lives in linux-binary-ABI-cloud-amd64 and the modules in
// linux-modules-ABI-cloud-amd64; the linux-image package of older
// kernels holds both.
func (f *fetcher) kernel(ctx context.Context, k Kernel) (*kernelImage, error) {
	a, err := f.suite(ctx, k.Archive, k.Suite)
	if err != nil {
		return nil, err
	}
	cands, err := a.candidates(ctx, "linux-image-", cloudImage)
	if err != nil {
		return nil, err
	}
	best, err := newestInSeries(cands, k.Series)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.Suite, err)
	}
	abi := cloudImage.FindStringSubmatch(best.Name)[1]
	pkg, modPkg := best, best
	if bin, err := a.show(ctx, "linux-binary-"+abi+"-cloud-amd64"); err == nil && len(bin) == 1 {
		pkg = bin[0]
	}
	if mods, err := a.show(ctx, "linux-modules-"+abi+"-cloud-amd64"); err == nil && len(mods) == 1 {
		modPkg = mods[0]
	}
	img := &kernelImage{Package: pkg.Name, Version: pkg.Version}
	dir := filepath.Join(f.cache, "kernels", pkg.Name+"_"+pkg.Version)
	img.Vmlinuz = filepath.Join(dir, "vmlinuz")
	modDir := filepath.Join(dir, "modules")
	_, verr := os.Stat(img.Vmlinuz)
	img.Modules, err = readKernelModules(modDir)
	if verr == nil && err == nil {
		return img, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	// One download per package: the modules come from the image's
	// package too when it holds them.
	for _, p := range []pkgVersion{pkg, modPkg} {
		needV := verr != nil && p == pkg
		needM := img.Modules == nil && p == modPkg
		if !needV && !needM {
			continue
		}
		fmt.Fprintf(f.log, "downloading %s %s\n", p.Name, p.Version)
		deb, err := a.download(ctx, p, dir)
		if err != nil {
			return nil, err
		}
		defer os.Remove(deb)
		if needV {
			if err := extractVmlinuz(ctx, deb, img.Vmlinuz); err != nil {
				return nil, err
			}
			verr = nil
		}
		if needM {
			if img.Modules, err = extractModules(ctx, deb, modDir, neededModules()); err != nil {
				return nil, err
			}
			fmt.Fprintf(f.log, "%s: unpacked %s\n", p.Name, strings.Join(img.Modules.Sources, ", "))
		}
	}
	return img, nil
}

// newestInSeries picks the highest version among packages whose version
// starts with series ("" takes all).
func newestInSeries(cands []pkgVersion, series string) (pkgVersion, error) {
	var best pkgVersion
	for _, c := range cands {
		_, upstream, _ := splitVersion(c.Version)
		if !strings.HasPrefix(upstream, series) {
			continue
		}
		if best.Name == "" || compareVersions(c.Version, best.Version) > 0 {
			best = c
		}
	}
	if best.Name == "" {
		return best, fmt.Errorf("no cloud kernel of series %q among %d linux-image packages", series, len(cands))
	}
	return best, nil
}

// extractVmlinuz copies the kernel image (a regular file named vmlinuz*,
// in /boot or /usr/lib/modules/ABI) out of a kernel package.
func extractVmlinuz(ctx context.Context, deb, dst string) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	found := false
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Base(deb), err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(path.Base(h.Name), "vmlinuz") || found {
			continue
		}
		if err := writeFileFrom(dst, tr, 0o644); err != nil {
			return err
		}
		found = true
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", filepath.Base(deb), err)
	}
	if !found {
		return fmt.Errorf("%s holds no vmlinuz", filepath.Base(deb))
	}
	return nil
}

// writeFileFrom writes r to path through a temporary file, so that an
// interrupted run never leaves a partial file behind.
func writeFileFrom(p string, r io.Reader, perm os.FileMode) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// qemuSuite is where QEMU 10 comes from: QEMU 7.2 of bookworm crashes in
// TCG boots of 6.12 kernels (notes/kernel-matrix.md).
const qemuSuite = "bookworm-backports"

// qemuPackages are unpacked together: the emulator, what it depends on
// from QEMU's own packages, and the BIOS. No NIC is emulated, so ipxe is
// not needed.
func qemuPackages() []string {
	return []string{"qemu-system-x86", "qemu-system-common", "qemu-system-data", "seabios"}
}

// qemuInstall is an unpacked QEMU.
type qemuInstall struct {
	Version string
	Binary  string
	// Firmware are the directories given to QEMU with -L.
	Firmware []string
}

// qemu returns QEMU from the cache, fetching and unpacking it first if
// needed, and checks that its shared libraries are on the machine.
func (f *fetcher) qemu(ctx context.Context) (*qemuInstall, error) {
	a, err := f.suite(ctx, archiveDebian, qemuSuite)
	if err != nil {
		return nil, err
	}
	pkgs, err := a.show(ctx, qemuPackages()...)
	if err != nil {
		return nil, err
	}
	if len(pkgs) != len(qemuPackages()) {
		return nil, fmt.Errorf("%s: found %d of the packages %s", qemuSuite, len(pkgs), strings.Join(qemuPackages(), ", "))
	}
	q := &qemuInstall{}
	for _, p := range pkgs {
		if p.Name == qemuPackages()[0] {
			q.Version = p.Version
		}
	}
	root := filepath.Join(f.cache, "qemu", sanitize(q.Version), "root")
	q.Binary = filepath.Join(root, "usr/bin/qemu-system-x86_64")
	q.Firmware = []string{filepath.Join(root, "usr/share/qemu"), filepath.Join(root, "usr/share/seabios")}
	done := filepath.Join(root, ".complete")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(root); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
		for _, p := range pkgs {
			deb, err := f.deb(ctx, a, p)
			if err != nil {
				return nil, err
			}
			if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(deb), err, out)
			}
		}
		if err := os.WriteFile(done, []byte(q.Version+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	if err := f.qemuLibraries(ctx, a, q, pkgs); err != nil {
		return nil, err
	}
	return q, nil
}

// qemuLibraries checks with ldd that the machine has QEMU's shared
// libraries. When some are missing, it installs the library packages QEMU
// depends on with the machine's own `apt-get install` if allowed (they
// are bookworm's), or says which command would.
func (f *fetcher) qemuLibraries(ctx context.Context, a *aptSuite, q *qemuInstall, pkgs []pkgVersion) error {
	missing, err := missingLibraries(ctx, q.Binary)
	if err != nil || len(missing) == 0 {
		return err
	}
	var libs []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		dep, err := a.field(ctx, p, "Depends")
		if err != nil {
			return err
		}
		for _, l := range libraryDepends(dep) {
			if !seen[l] && !installed(ctx, l) {
				libs = append(libs, l)
			}
			seen[l] = true
		}
	}
	install := append([]string{"install", "-y", "-q", "--no-install-recommends"}, libs...)
	if !f.installQ {
		return fmt.Errorf("QEMU %s needs shared libraries this machine lacks (%s): install them with `apt-get %s`, or pass -install-deps",
			q.Version, strings.Join(missing, ", "), strings.Join(install, " "))
	}
	fmt.Fprintf(f.log, "QEMU needs %s: apt-get %s\n", strings.Join(missing, ", "), strings.Join(install, " "))
	cmd := exec.CommandContext(ctx, "apt-get", install...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("install QEMU's libraries: %w: %s", err, lastLines(string(out), 5))
	}
	missing, err = missingLibraries(ctx, q.Binary)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("QEMU %s still lacks %s after installing its library packages", q.Version, strings.Join(missing, ", "))
	}
	return nil
}

// installed tells whether the machine's dpkg has the package installed.
func installed(ctx context.Context, pkg string) bool {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Status}", pkg).Output()
	return err == nil && strings.HasSuffix(strings.TrimSpace(string(out)), " installed")
}

// missingLibraries lists the shared libraries ldd cannot find for bin.
func missingLibraries(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	var missing []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), " => not found"); ok {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

// libraryDepends returns the library packages (lib*) of a Depends field,
// the first of each set of alternatives, without version constraints.
func libraryDepends(dep string) []string {
	var out []string
	for _, d := range strings.Split(dep, ",") {
		alt, _, _ := strings.Cut(d, "|")
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, ":")
		if strings.HasPrefix(name, "lib") {
			out = append(out, name)
		}
	}
	return out
}

// busybox returns busybox-static's binary (from bookworm), fetching it
// unless cached.
func (f *fetcher) busybox(ctx context.Context) (string, error) {
	a, err := f.suite(ctx, archiveDebian, "bookworm")
	if err != nil {
		return "", err
	}
	pkgs, err := a.show(ctx, "busybox-static")
	if err != nil {
		return "", err
	}
	if len(pkgs) != 1 {
		return "", errors.New("bookworm: no busybox-static")
	}
	dir := filepath.Join(f.cache, "busybox", sanitize(pkgs[0].Version))
	bin := filepath.Join(dir, "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	deb, err := f.deb(ctx, a, pkgs[0])
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(deb), err, out)
	}
	defer os.RemoveAll(tmp)
	if err := os.Rename(filepath.Join(tmp, "bin", "busybox"), bin); err != nil {
		return "", fmt.Errorf("busybox-static: %w", err)
	}
	return bin, nil
}

// deb returns a package's .deb from the cache's debs directory,
// downloading it first if needed.
func (f *fetcher) deb(ctx context.Context, a *aptSuite, p pkgVersion) (string, error) {
	dir := filepath.Join(f.cache, "debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	stamp := filepath.Join(dir, sanitize(p.Name+"_"+p.Version)+".path")
	if b, err := os.ReadFile(stamp); err == nil {
		if _, err := os.Stat(string(b)); err == nil {
			return string(b), nil
		}
	}
	fmt.Fprintf(f.log, "downloading %s %s\n", p.Name, p.Version)
	deb, err := a.download(ctx, p, dir)
	if err != nil {
		return "", err
	}
	return deb, os.WriteFile(stamp, []byte(deb), 0o644)
}

// sanitize makes a version usable as a file name.
func sanitize(s string) string {
	return strings.NewReplacer("/", "_", ":", "%3a", " ", "_").Replace(s)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
