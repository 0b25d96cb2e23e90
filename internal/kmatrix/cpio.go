package kmatrix

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// cpioEntry is one file, directory or symbolic link of an archive.
type cpioEntry struct {
	// Name is the path inside the archive, without a leading slash.
	Name string
	// Mode holds the permission bits and, through fs.ModeDir or
	// fs.ModeSymlink, the type; anything else is a regular file.
	Mode fs.FileMode
	// Data is a regular file's contents.
	Data []byte
	// Target is a symbolic link's target.
	Target string
}

// tree is the content of an initramfs: entries by name. Adding a file
// adds its parent directories.
type tree map[string]cpioEntry

// addDir adds the directory name and its parents (mode 0755).
func (t tree) addDir(name string) {
	name = strings.Trim(path.Clean("/"+name), "/")
	for name != "" && name != "." {
		if _, ok := t[name]; ok {
			return
		}
		t[name] = cpioEntry{Name: name, Mode: fs.ModeDir | 0o755}
		name = path.Dir(name)
		if name == "." {
			return
		}
	}
}

// addFile adds a regular file (and its parent directories).
func (t tree) addFile(name string, perm fs.FileMode, data []byte) {
	name = strings.Trim(path.Clean("/"+name), "/")
	t.addDir(path.Dir(name))
	t[name] = cpioEntry{Name: name, Mode: perm.Perm(), Data: data}
}

// addSymlink adds a symbolic link (and its parent directories).
func (t tree) addSymlink(name, target string) {
	name = strings.Trim(path.Clean("/"+name), "/")
	t.addDir(path.Dir(name))
	t[name] = cpioEntry{Name: name, Mode: fs.ModeSymlink | 0o777, Target: target}
}

// writeCpio writes the entries as a cpio archive in the "newc" format the
// kernel unpacks into its initial root file system. Entries are written
// sorted by name, so a directory comes before what it holds; owners are
// root, times zero: the same tree gives the same bytes.
func writeCpio(w io.Writer, t tree) error {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	ino := uint32(1)
	for _, n := range names {
		e := t[n]
		var mode uint32
		var data []byte
		nlink := uint32(1)
		switch {
		case e.Mode&fs.ModeDir != 0:
			mode, nlink = 0o040000, 2
		case e.Mode&fs.ModeSymlink != 0:
			mode, data = 0o120000, []byte(e.Target)
		default:
			mode, data = 0o100000, e.Data
		}
		mode |= uint32(e.Mode.Perm())
		if err := writeCpioRecord(w, ino, mode, nlink, e.Name, data); err != nil {
			return fmt.Errorf("cpio: %s: %w", e.Name, err)
		}
		ino++
	}
	if err := writeCpioRecord(w, 0, 0, 1, "TRAILER!!!", nil); err != nil {
		return fmt.Errorf("cpio: trailer: %w", err)
	}
	return nil
}

// writeCpioRecord writes one newc header, the NUL-terminated name and the
// data, each padded to four bytes.
func writeCpioRecord(w io.Writer, ino, mode, nlink uint32, name string, data []byte) error {
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad4(len(data))))
	return err
}

// pad4 is how many bytes bring n to a multiple of four.
func pad4(n int) int { return (4 - n%4) % 4 }
