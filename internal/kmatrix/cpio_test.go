package kmatrix

import (
	"bytes"
	"io/fs"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readCpio decodes a newc archive into name → entry (for tests).
func readCpio(t *testing.T, b []byte) (names []string, entries map[string]cpioEntry) {
	t.Helper()
	entries = map[string]cpioEntry{}
	field := func(h []byte, i int) int {
		v, err := strconv.ParseUint(string(h[6+8*i:6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatalf("header field %d: %v", i, err)
		}
		return int(v)
	}
	for off := 0; ; {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("no header at %d", off)
		}
		h := b[off : off+110]
		mode, size, nameSize := field(h, 1), field(h, 6), field(h, 11)
		name := string(b[off+110 : off+110+nameSize-1])
		off += 110 + nameSize
		off += pad4(off)
		data := b[off : off+size]
		off += size
		off += pad4(off)
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return names, entries
		}
		e := cpioEntry{Name: name, Mode: fs.FileMode(mode & 0o777)}
		switch mode & 0o170000 {
		case 0o040000:
			e.Mode |= fs.ModeDir
		case 0o120000:
			e.Mode |= fs.ModeSymlink
			e.Target = string(data)
		case 0o100000:
			e.Data = data
		default:
			t.Fatalf("%s: mode %o", name, mode)
		}
		names = append(names, name)
		entries[name] = e
	}
}

func TestWriteCpio(t *testing.T) {
	tr := tree{}
	tr.addSymlink("bin", "usr/bin")
	tr.addFile("/usr/bin/true", 0o755, []byte("elf"))
	tr.addFile("etc/hostname", 0o644, []byte("kmatrix\n"))
	tr.addDir("proc")
	var buf bytes.Buffer
	if err := writeCpio(&buf, tr); err != nil {
		t.Fatal(err)
	}
	names, entries := readCpio(t, buf.Bytes())
	if diff := cmp.Diff([]string{"bin", "etc", "etc/hostname", "proc", "usr", "usr/bin", "usr/bin/true"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]cpioEntry(tr), entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	var again bytes.Buffer
	if err := writeCpio(&again, tr); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("a second write differs (err %v)", err)
	}
}
