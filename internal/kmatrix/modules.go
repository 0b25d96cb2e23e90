package kmatrix

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// neededModules are the kernel modules the guest loads before the tests,
// by module name: overlay, because Debian's cloud kernels build overlayfs
// as a module and TestExecFlags mounts one. Their dependencies (the
// modules' own "depends") come along.
func neededModules() []string {
	return []string{"overlay"}
}

// moduleFile is a kernel module in a kernel package.
type moduleFile struct {
	// Path is the file's path in the package ("usr/lib/modules/...").
	Path string
	// Release is the kernel release the module is built for: the
	// directory below lib/modules, `uname -r` of the kernel.
	Release string
	// Name is the module's name: the file name without .ko and its
	// compression suffix, dashes read as underscores (as the kernel and
	// modinfo's depends name modules).
	Name string
	// Compression is the file's compression: "" (none), "xz", "zst" or
	// "gz".
	Compression string
}

// modulePath matches a module's path in a kernel package: below
// /lib/modules/RELEASE or /usr/lib/modules/RELEASE, possibly compressed.
var modulePath = regexp.MustCompile(`^(?:usr/)?lib/modules/([^/]+)/(?:.+/)?([^/]+)\.ko(?:\.(xz|zst|gz))?$`)

// parseModulePath reads a path of a kernel package's file list (with or
// without the "./" dpkg-deb puts first) as a module.
func parseModulePath(p string) (moduleFile, bool) {
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	m := modulePath.FindStringSubmatch(clean)
	if m == nil {
		return moduleFile{}, false
	}
	return moduleFile{Path: clean, Release: m[1], Name: moduleName(m[2]), Compression: m[3]}, true
}

// moduleName is the kernel's name of a module: dashes are underscores.
func moduleName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// parseModinfo reads a module's .modinfo section: NUL-separated
// "key=value" strings. A key that repeats (alias, parm) keeps its values
// in order.
func parseModinfo(sec []byte) map[string][]string {
	info := map[string][]string{}
	for _, kv := range bytes.Split(sec, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || k == "" {
			continue
		}
		info[k] = append(info[k], v)
	}
	return info
}

// modinfoDepends is the modules a module's "depends" names (a
// comma-separated list, often empty).
func modinfoDepends(info map[string][]string) []string {
	var out []string
	for _, v := range info["depends"] {
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, moduleName(d))
			}
		}
	}
	return out
}

// moduleDepends reads the "depends" of an uncompressed module file.
func moduleDepends(file string) ([]string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", filepath.Base(file), err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s: no .modinfo section", filepath.Base(file))
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: .modinfo: %w", filepath.Base(file), err)
	}
	return modinfoDepends(parseModinfo(data)), nil
}

// loadOrder orders modules for insmod: every module after the modules it
// depends on, the roots in the order given. A dependency cycle (which
// the kernel's build refuses) is broken where it closes.
func loadOrder(roots []string, depends func(string) []string) []string {
	var out []string
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(string)
	visit = func(m string) {
		if state[m] != 0 {
			return
		}
		state[m] = 1
		for _, d := range depends(m) {
			visit(d)
		}
		state[m] = 2
		out = append(out, m)
	}
	for _, r := range roots {
		visit(r)
	}
	return out
}

// Names of the files in a kernel's modules directory of the cache, beside
// the NAME.ko files.
const (
	// modulesOrder lists the module names, one a line, in load order.
	modulesOrder = "order"
	// modulesRelease holds the kernel release the modules are for.
	modulesRelease = "release"
)

// kernelModules are a kernel's modules, unpacked in the cache.
type kernelModules struct {
	// Release is the kernel release (`uname -r`) they are built for.
	Release string
	// Names are the modules in load order; Dir/NAME.ko is each one,
	// uncompressed.
	Names []string
	Dir   string
	// Sources are the modules' paths in the package, set only when they
	// were just unpacked (not read from the cache).
	Sources []string
}

// readKernelModules reads a modules directory the cache holds; it fails
// when the directory is missing or incomplete.
func readKernelModules(dir string) (*kernelModules, error) {
	order, err := os.ReadFile(filepath.Join(dir, modulesOrder))
	if err != nil {
		return nil, err
	}
	rel, err := os.ReadFile(filepath.Join(dir, modulesRelease))
	if err != nil {
		return nil, err
	}
	km := &kernelModules{Release: strings.TrimSpace(string(rel)), Names: strings.Fields(string(order)), Dir: dir}
	if km.Release == "" || len(km.Names) == 0 {
		return nil, fmt.Errorf("%s: no release or no modules", dir)
	}
	for _, n := range km.Names {
		if _, err := os.Stat(filepath.Join(dir, n+".ko")); err != nil {
			return nil, err
		}
	}
	return km, nil
}

// extractModules unpacks the modules named in want, and the modules they
// depend on, from a kernel package into dst (a directory it creates
// whole, through a temporary one): NAME.ko, uncompressed, plus the order
// and release files readKernelModules reads.
func extractModules(ctx context.Context, deb, dst string, want []string) (*kernelModules, error) {
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("modules cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	deps := map[string][]string{}
	var index map[string]moduleFile
	pending := append([]string(nil), want...)
	// Each pass reads the package once and unpacks what is pending; a
	// module's dependencies are known once it is unpacked, so a module
	// with some takes another pass.
	for len(pending) > 0 {
		got, idx, err := unpackModules(ctx, deb, tmp, pending)
		if err != nil {
			return nil, err
		}
		index = idx
		var next []string
		for _, name := range pending {
			if !got[name] {
				return nil, fmt.Errorf("%s holds no module %s (no %s.ko, .ko.xz, .ko.zst or .ko.gz below lib/modules among its %d modules)",
					filepath.Base(deb), name, name, len(index))
			}
			d, err := moduleDepends(filepath.Join(tmp, name+".ko"))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Base(deb), err)
			}
			deps[name] = d
			for _, x := range d {
				if _, seen := deps[x]; !seen && !contains(next, x) {
					next = append(next, x)
				}
			}
		}
		pending = next
	}
	release := ""
	for name := range deps {
		r := index[name].Release
		if release != "" && r != release {
			return nil, fmt.Errorf("%s: modules of two releases (%s, %s)", filepath.Base(deb), release, r)
		}
		release = r
	}
	order := loadOrder(want, func(m string) []string { return deps[m] })
	files := map[string]string{modulesOrder: strings.Join(order, "\n") + "\n", modulesRelease: release + "\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("modules cache: %w", err)
		}
	}
	if err := os.RemoveAll(dst); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("modules cache: %w", err)
	}
	km, err := readKernelModules(dst)
	if err != nil {
		return nil, err
	}
	for _, name := range order {
		km.Sources = append(km.Sources, index[name].Path)
	}
	return km, nil
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

// unpackModules reads a package's files once (dpkg-deb --fsys-tarfile),
// writes the named modules into dir as NAME.ko, uncompressed, and
// returns which it wrote and the index of every module it saw.
func unpackModules(ctx context.Context, deb, dir string, names []string) (map[string]bool, map[string]moduleFile, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	waited := false
	defer func() {
		// On an early return, let dpkg-deb end.
		if !waited {
			io.Copy(io.Discard, out)
			cmd.Wait()
		}
	}()
	got := map[string]bool{}
	index := map[string]moduleFile{}
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", filepath.Base(deb), err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		m, ok := parseModulePath(h.Name)
		if !ok {
			continue
		}
		index[m.Name] = m
		if got[m.Name] || !contains(names, m.Name) {
			continue
		}
		if err := writeModule(ctx, tr, m, filepath.Join(dir, m.Name+".ko")); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Base(deb), err)
		}
		got[m.Name] = true
	}
	waited = true
	if err := cmd.Wait(); err != nil {
		return nil, nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", filepath.Base(deb), err)
	}
	return got, index, nil
}

// decompressors are the commands that decompress a module: xz from
// xz-utils and zstd from the zstd package (Debian's kernels compress
// their modules with one or the other since 6.x); gzip is Go's own.
var decompressors = map[string][]string{
	"xz":  {"xz", "-d", "-c"},
	"zst": {"zstd", "-d", "-c", "-q"},
}

// writeModule writes a module's data (r), decompressed, to dst.
func writeModule(ctx context.Context, r io.Reader, m moduleFile, dst string) error {
	switch m.Compression {
	case "":
		return writeFileFrom(dst, r, 0o644)
	case "gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("decompress %s: %w", m.Path, err)
		}
		if err := writeFileFrom(dst, zr, 0o644); err != nil {
			return fmt.Errorf("decompress %s: %w", m.Path, err)
		}
		return nil
	}
	argv, ok := decompressors[m.Compression]
	if !ok {
		return fmt.Errorf("%s: unknown compression %q", m.Path, m.Compression)
	}
	f, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, f, &stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst + ".tmp")
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("decompress %s: %w (install the %s package)", m.Path, err, map[string]string{"xz": "xz-utils", "zst": "zstd"}[m.Compression])
		}
		return fmt.Errorf("decompress %s with %s: %w: %s", m.Path, argv[0], err, strings.TrimSpace(stderr.String()))
	}
	return os.Rename(dst+".tmp", dst)
}
