package kmatrix

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseModulePath(t *testing.T) {
	tests := []struct {
		path string
		want moduleFile
		ok   bool
	}{
		{"./lib/modules/5.10.0-46-cloud-amd64/kernel/fs/overlayfs/overlay.ko",
			moduleFile{Path: "lib/modules/5.10.0-46-cloud-amd64/kernel/fs/overlayfs/overlay.ko", Release: "5.10.0-46-cloud-amd64", Name: "overlay"}, true},
		{"./usr/lib/modules/6.12.118+deb13-cloud-amd64/kernel/fs/overlayfs/overlay.ko.xz",
			moduleFile{Path: "usr/lib/modules/6.12.118+deb13-cloud-amd64/kernel/fs/overlayfs/overlay.ko.xz", Release: "6.12.118+deb13-cloud-amd64", Name: "overlay", Compression: "xz"}, true},
		{"usr/lib/modules/7.2.13+deb14-cloud-amd64/kernel/drivers/md/dm-mod.ko.zst",
			moduleFile{Path: "usr/lib/modules/7.2.13+deb14-cloud-amd64/kernel/drivers/md/dm-mod.ko.zst", Release: "7.2.13+deb14-cloud-amd64", Name: "dm_mod", Compression: "zst"}, true},
		{"/lib/modules/6.1.0-57-cloud-amd64/overlay.ko.gz",
			moduleFile{Path: "lib/modules/6.1.0-57-cloud-amd64/overlay.ko.gz", Release: "6.1.0-57-cloud-amd64", Name: "overlay", Compression: "gz"}, true},
		{"./usr/lib/modules/6.1.0-57-cloud-amd64/modules.order", moduleFile{}, false},
		{"./usr/lib/modules/6.1.0-57-cloud-amd64/kernel/fs/overlayfs/", moduleFile{}, false},
		{"./boot/vmlinuz-6.1.0-57-cloud-amd64", moduleFile{}, false},
		{"./usr/lib/modules/6.1.0-57-cloud-amd64/kernel/x.ko.bz2", moduleFile{}, false},
		{"./usr/share/doc/overlay.ko", moduleFile{}, false},
	}
	for _, tc := range tests {
		got, ok := parseModulePath(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseModulePath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestModinfo(t *testing.T) {
	sec := []byte("license=GPL\x00alias=fs-overlay\x00alias=fs-overlayfs\x00depends=\x00retpoline=Y\x00\x00\x00name=overlay\x00")
	info := parseModinfo(sec)
	if diff := cmp.Diff([]string{"fs-overlay", "fs-overlayfs"}, info["alias"]); diff != "" {
		t.Errorf("alias (-want +got):\n%s", diff)
	}
	if got := modinfoDepends(info); len(got) != 0 {
		t.Errorf("empty depends: %q", got)
	}
	info = parseModinfo([]byte("depends=dm-bufio,libcrc32c\x00name=x\x00"))
	if diff := cmp.Diff([]string{"dm_bufio", "libcrc32c"}, modinfoDepends(info)); diff != "" {
		t.Errorf("depends (-want +got):\n%s", diff)
	}
}

func TestLoadOrder(t *testing.T) {
	deps := map[string][]string{
		"overlay": {"a", "b"},
		"a":       {"c"},
		"b":       {"c"},
		"c":       nil,
		"x":       {"y"},
		"y":       {"x"}, // a cycle: broken where it closes
	}
	got := loadOrder([]string{"overlay", "x"}, func(m string) []string { return deps[m] })
	want := []string{"c", "a", "b", "overlay", "y", "x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loadOrder (-want +got):\n%s", diff)
	}
}

// fakeModule is a minimal ELF relocatable file with a .modinfo section,
// what moduleDepends reads of a module.
func fakeModule(t *testing.T, modinfo string) []byte {
	t.Helper()
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	info := []byte(modinfo)
	const ehsize, shentsize = 64, 64
	infoOff := uint64(ehsize)
	shstrOff := infoOff + uint64(len(info))
	shOff := (shstrOff + uint64(len(shstr)) + 7) &^ 7
	var b bytes.Buffer
	hdr := elf.Header64{
		Type: uint16(elf.ET_REL), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Shoff: shOff, Ehsize: ehsize, Shentsize: shentsize, Shnum: 3, Shstrndx: 2,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.Write(&b, binary.LittleEndian, hdr)
	b.Write(info)
	b.Write(shstr)
	b.Write(make([]byte, shOff-uint64(b.Len())))
	for _, sh := range []elf.Section64{
		{},
		{Name: 1, Type: uint32(elf.SHT_PROGBITS), Flags: uint64(elf.SHF_ALLOC), Off: infoOff, Size: uint64(len(info)), Addralign: 1},
		{Name: 10, Type: uint32(elf.SHT_STRTAB), Off: shstrOff, Size: uint64(len(shstr)), Addralign: 1},
	} {
		binary.Write(&b, binary.LittleEndian, sh)
	}
	return b.Bytes()
}

// TestExtractModules builds a kernel package with dpkg-deb, its modules
// compressed as Debian's are (xz, zstd), and unpacks overlay from it:
// overlay depends on a module whose file name has a dash.
func TestExtractModules(t *testing.T) {
	for _, cmd := range []string{"dpkg-deb", "xz", "zstd"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("no %s: %v", cmd, err)
		}
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	rel := "6.12.118+deb13-cloud-amd64"
	kdir := filepath.Join(root, "usr/lib/modules", rel, "kernel")
	files := map[string]string{
		"fs/overlayfs/overlay.ko": "depends=fake-dep\x00name=overlay\x00",
		"lib/fake-dep.ko":         "depends=\x00name=fake_dep\x00",
		"lib/unrelated.ko":        "depends=\x00name=unrelated\x00",
	}
	for name, info := range files {
		p := filepath.Join(kdir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, fakeModule(t, info), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{"xz", filepath.Join(kdir, "fs/overlayfs/overlay.ko")},
		{"zstd", "-q", "--rm", filepath.Join(kdir, "lib/fake-dep.ko")},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", c, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Package: linux-image-test\nVersion: 1\nArchitecture: amd64\nMaintainer: x <x@example.org>\nDescription: test\n"
	if err := os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, "k.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v: %s", err, out)
	}

	dst := filepath.Join(dir, "cache", "modules")
	km, err := extractModules(context.Background(), deb, dst, []string{"overlay"})
	if err != nil {
		t.Fatal(err)
	}
	if km.Release != rel || !cmp.Equal(km.Names, []string{"fake_dep", "overlay"}) || km.Dir != dst {
		t.Errorf("modules: %+v", km)
	}
	for _, n := range km.Names {
		deps, err := moduleDepends(filepath.Join(dst, n+".ko"))
		if err != nil {
			t.Errorf("%s: not an uncompressed module: %v", n, err)
		}
		if n == "overlay" && !cmp.Equal(deps, []string{"fake_dep"}) {
			t.Errorf("overlay depends on %q", deps)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "unrelated.ko")); err == nil {
		t.Error("unrelated.ko unpacked")
	}
	wantSources := []string{"usr/lib/modules/" + rel + "/kernel/lib/fake-dep.ko.zst", "usr/lib/modules/" + rel + "/kernel/fs/overlayfs/overlay.ko.xz"}
	if diff := cmp.Diff(wantSources, km.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	km.Sources = nil // not kept in the cache
	again, err := readKernelModules(dst)
	if err != nil || !cmp.Equal(again, km) {
		t.Errorf("readKernelModules: %+v, %v", again, err)
	}

	if _, err := extractModules(context.Background(), deb, filepath.Join(dir, "cache", "none"), []string{"nosuch"}); err == nil {
		t.Error("a missing module unpacked")
	} else if want := "k.deb holds no module nosuch"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("missing module: %v, want %q", err, want)
	}
	if _, err := readKernelModules(filepath.Join(dir, "cache", "none")); err == nil {
		t.Error("readKernelModules of a failed extraction succeeded")
	}
}
