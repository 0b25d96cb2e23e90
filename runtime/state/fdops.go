package state

import (
	"net/netip"
	"strconv"
	"strings"
	"unsafe"
)

// fdsOf returns tid's thread and descriptor table, reading /proc on a
// miss like [Table.Lookup].
func (t *Table) fdsOf(tid int64) (*Thread, *FDTable) {
	th := t.Lookup(tid)
	if th == nil {
		return nil, nil
	}
	if th.proc.fds == nil {
		th.proc.fds = newFDTable()
	}
	return th, th.proc.fds
}

// FD returns descriptor fd of tid's process, or nil.
func (t *Table) FD(tid, fd int64) *FD {
	if th := t.Lookup(tid); th != nil {
		return th.proc.fds.Get(fd)
	}
	return nil
}

// ResolveAt returns path made absolute as tid sees it: against the
// directory of dirfd, or the cwd for AtFDCWD. A relative path whose
// directory is unknown is returned cleaned but relative.
func (t *Table) ResolveAt(tid, dirfd int64, path string) string {
	th := t.Lookup(tid)
	if th == nil {
		return ResolvePath("", path)
	}
	return resolveAt(th, dirfd, path)
}

func resolveAt(th *Thread, dirfd int64, path string) string {
	if path != "" && path[0] == '/' {
		return ResolvePath("", path)
	}
	dir := th.proc.cwd
	if dirfd != AtFDCWD {
		dir = ""
		if d := th.proc.fds.Get(dirfd); d != nil && !d.lazy && d.name != "" && d.name[0] == '/' {
			dir = d.name
		}
	}
	return ResolvePath(dir, path)
}

// Open records that tid opened path (relative to dirfd, or the cwd for
// AtFDCWD) as descriptor fd with the given flags and mode. It returns the
// new descriptor so the caller can set Dev, Ino and the layer flags.
func (t *Table) Open(tid, fd int64, path string, flags, mode uint32, dirfd int64) *FD {
	th, fds := t.fdsOf(tid)
	if fds == nil || fd < 0 {
		return nil
	}
	typ := FDFile
	if flags&ODirectory != 0 {
		typ = FDDirectory
	}
	name := t.resolveOpen(th, dirfd, path)
	f := fds.Get(fd)
	if f == nil {
		f = t.allocFD() // zeroed
		f.Num = fd
		fds.put(f)
	} else {
		// A descriptor reopened without its close being seen is
		// replaced in place: its FD is this table's alone (clone and
		// Dup copy), and nobody keeps FD pointers across events.
		// Cleared, then set field by field: a composite literal is
		// built in a temporary and copied with loads wider than its
		// stores, which stalls.
		*f = FD{}
	}
	f.Num, f.Type, f.name, f.NameRaw, f.Flags, f.Mode = fd, typ, name, path, flags, mode
	return f
}

// resolveOpen is resolveAt for an open's path. An absolute path found
// clean before, the same string (the replay and capture decoders intern
// their paths), is not checked again.
func (t *Table) resolveOpen(th *Thread, dirfd int64, path string) string {
	if path == "" || path[0] != '/' {
		return resolveAt(th, dirfd, path)
	}
	sp := unsafe.StringData(path)
	slot := &t.clean[uint64(uintptr(unsafe.Pointer(sp)))*0x9e3779b97f4a7c15>>(64-cleanBits)]
	if len(*slot) == len(path) && unsafe.StringData(*slot) == sp {
		return path // the memo holds the string itself: the same bytes
	}
	r := ResolvePath("", path)
	if len(r) == len(path) && unsafe.StringData(r) == sp {
		*slot = path
	}
	return r
}

// cleanBits is the log2 of the number of entries of Table.clean.
const cleanBits = 10

// maxFreeFDs bounds the closed descriptors kept for reuse.
const maxFreeFDs = 256

// allocFD returns a zeroed FD, reusing one that was closed if any.
func (t *Table) allocFD() *FD {
	if n := len(t.freeFDs); n > 0 {
		f := t.freeFDs[n-1]
		t.freeFDs[n-1] = nil
		t.freeFDs = t.freeFDs[:n-1]
		return f
	}
	return new(FD)
}

// releaseFD keeps the FD of a closed descriptor for reuse by allocFD. It
// is zeroed so that it holds no strings.
func (t *Table) releaseFD(f *FD) {
	if len(t.freeFDs) < maxFreeFDs {
		*f = FD{}
		t.freeFDs = append(t.freeFDs, f)
	}
}

// Add records a descriptor of any type (eventfd, signalfd, epoll,
// inotify, timerfd, bpf, ...) with the given name and flags.
func (t *Table) Add(tid, fd int64, typ FDType, name string, flags uint32) *FD {
	_, fds := t.fdsOf(tid)
	if fds == nil || fd < 0 {
		return nil
	}
	return fds.put(&FD{Num: fd, Type: typ, name: name, NameRaw: name, Flags: flags})
}

// Memfd records memfd_create(name, flags) returning fd. MFD_CLOEXEC has
// the value of O_CLOEXEC's low bit (1) and is translated.
func (t *Table) Memfd(tid, fd int64, name string, flags uint32) *FD {
	of := uint32(0)
	if flags&1 != 0 {
		of = OCloexec
	}
	return t.Add(tid, fd, FDMemfd, "memfd:"+name, of)
}

// Pipe records pipe/pipe2 returning the read end rfd and the write end
// wfd, with the pipe's inode number (0 if unknown).
func (t *Table) Pipe(tid, rfd, wfd int64, ino uint64, flags uint32) {
	_, fds := t.fdsOf(tid)
	if fds == nil {
		return
	}
	name := "pipe:[" + strconv.FormatUint(ino, 10) + "]"
	if ino == 0 {
		name = ""
	}
	for _, n := range [2]int64{rfd, wfd} {
		if n >= 0 {
			fds.put(&FD{Num: n, Type: FDPipe, name: name, NameRaw: name, Flags: flags, Ino: ino})
		}
	}
}

// Socket records socket(family, typ, proto) returning fd.
func (t *Table) Socket(tid, fd int64, family, typ, proto int) *FD {
	_, fds := t.fdsOf(tid)
	if fds == nil || fd < 0 {
		return nil
	}
	f := &FD{Num: fd, Family: uint16(family), L4Proto: l4For(family, typ, proto)}
	if typ&SockCloexec != 0 {
		f.Flags = OCloexec
	}
	switch family {
	case afInet:
		f.Type = FDIPv4
	case afInet6:
		f.Type = FDIPv6
	case afUnix:
		f.Type = FDUnix
	case afNetlink:
		f.Type = FDNetlink
	default:
		f.Type = FDUnknown
	}
	return fds.put(f)
}

// socketFD returns fd of tid, creating an IP socket entry from the
// address when the socket was not seen.
func (t *Table) socketFD(tid, fd int64, a netip.Addr) *FD {
	_, fds := t.fdsOf(tid)
	if fds == nil || fd < 0 {
		return nil
	}
	f := fds.Get(fd)
	if f != nil && f.Type.IsSocket() {
		return f
	}
	// A new entry, or one that held another kind of descriptor: reset in
	// place as Open does, with no allocation (FDs are never shared: Dup
	// and table copies copy them).
	if f == nil {
		f = t.allocFD()
		f.Num = fd
		fds.put(f)
	}
	typ := ipType(a, FDIPv4)
	*f = FD{} // then field by field, as in Open
	f.Num, f.Type, f.L4Proto = fd, typ, L4TCP
	if f.Type == FDIPv6 {
		f.Family = afInet6
	} else {
		f.Family = afInet
	}
	return f
}

// Connect records a connect on fd from local to remote: the thread is the
// client. For a UDP socket that connects again the name changes and
// NameChanged is set.
func (t *Table) Connect(tid, fd int64, local, remote netip.AddrPort) *FD {
	f := t.socketFD(tid, fd, remote.Addr())
	if f == nil {
		return nil
	}
	// The name is the tuple (local, remote), built when asked for; it
	// changed if the descriptor had another one.
	f.NameChanged = t.tupleNameChanged(f, local, remote)
	f.Local, f.Remote, f.Server, f.Connected = local, remote, false, true
	f.name, f.lazy = "", true
	return f
}

// tupleNameChanged reports whether f has a name other than the tuple
// (client, server). When f's name is itself a tuple not built yet, the
// addresses are compared as the text would show them (see tupleKey)
// instead of building both texts.
func (t *Table) tupleNameChanged(f *FD, client, server netip.AddrPort) bool {
	if f.lazy {
		oc, ok1 := tupleKey(f.Client())
		os, ok2 := tupleKey(f.ServerAddr())
		nc, ok3 := tupleKey(client)
		ns, ok4 := tupleKey(server)
		if ok1 && ok2 && ok3 && ok4 {
			return oc != nc || os != ns
		}
	}
	if !f.lazy && !strings.Contains(f.name, "->") {
		// A tuple's text holds "->": a name without it (a file's path)
		// differs from it, and an empty one does not count.
		return f.name != ""
	}
	t.nameOld = f.AppendName(t.nameOld[:0])
	t.nameNew = appendTuple(t.nameNew[:0], client, server)
	return len(t.nameOld) > 0 && string(t.nameOld) != string(t.nameNew)
}

// tupleKey returns ap as appendAddrPort shows it (IPv4-mapped addresses
// unmapped, no address as 0.0.0.0): two keys are equal exactly when their
// texts are, since the text of an address without a zone tells its
// address and port. ok is false for an address with a zone, whose text
// this does not vouch for.
func tupleKey(ap netip.AddrPort) (netip.AddrPort, bool) {
	a := ap.Addr()
	switch {
	case a.Is4In6():
		a = a.Unmap()
	case !a.IsValid():
		a = netip.IPv4Unspecified()
	case a.Zone() != "":
		return ap, false
	}
	return netip.AddrPortFrom(a, ap.Port()), true
}

// Accept records that tid accepted on listenFd a connection as newFd: the
// new descriptor is the server side. local is the server's address,
// remote the client's. An accept on a unix socket copies its path.
func (t *Table) Accept(tid, listenFd, newFd int64, local, remote netip.AddrPort) *FD {
	_, fds := t.fdsOf(tid)
	if fds == nil || newFd < 0 {
		return nil
	}
	l := fds.Get(listenFd)
	if l != nil && l.Type == FDUnix {
		return fds.put(&FD{Num: newFd, Type: FDUnix, Family: afUnix, name: l.Name(), NameRaw: l.NameRaw,
			UnixPath: l.UnixPath, Server: true, Connected: true})
	}
	f := &FD{Num: newFd, Type: ipType(local.Addr(), FDIPv4), Local: local, Remote: remote, Server: true, Connected: true, L4Proto: L4TCP}
	if l != nil {
		f.Family, f.L4Proto = l.Family, l.L4Proto
		if l.Type == FDIPv4 || l.Type == FDIPv6 {
			f.Type = l.Type
		}
		if !local.IsValid() {
			f.Local = l.Local
		}
	}
	if f.Family == 0 {
		f.Family = afInet
		if f.Type == FDIPv6 {
			f.Family = afInet6
		}
	}
	f.name = tuple(f.Remote, f.Local)
	return fds.put(f)
}

// Bind records bind(fd, local). The socket becomes a server socket named
// "ip:port".
func (t *Table) Bind(tid, fd int64, local netip.AddrPort) *FD {
	f := t.socketFD(tid, fd, local.Addr())
	if f == nil {
		return nil
	}
	f.Local, f.Server = local, true
	f.setName(string(appendAddrPort(nil, local)))
	return f
}

// Listen records listen(fd): the socket is a server socket.
func (t *Table) Listen(tid, fd int64) {
	if f := t.FD(tid, fd); f != nil {
		f.Server = true
	}
}

// ConnectUnix records a connect of unix socket fd to path.
func (t *Table) ConnectUnix(tid, fd int64, path string) *FD {
	return t.unixName(tid, fd, path, false)
}

// BindUnix records a bind of unix socket fd to path.
func (t *Table) BindUnix(tid, fd int64, path string) *FD {
	return t.unixName(tid, fd, path, true)
}

func (t *Table) unixName(tid, fd int64, path string, server bool) *FD {
	_, fds := t.fdsOf(tid)
	if fds == nil || fd < 0 {
		return nil
	}
	f := fds.Get(fd)
	if f == nil || f.Type != FDUnix {
		f = fds.put(&FD{Num: fd, Type: FDUnix, Family: afUnix})
	}
	f.UnixPath, f.NameRaw, f.Server, f.Connected = path, path, server, !server
	f.setName(path)
	return f
}

// Close records close(fd).
func (t *Table) Close(tid, fd int64) {
	if _, fds := t.fdsOf(tid); fds != nil {
		if f := fds.del(fd); f != nil {
			t.releaseFD(f)
		}
	}
}

// CloseRange records close_range(first, last, flags): the descriptors in
// [first, last] are closed, or only marked close-on-exec with
// CLOSE_RANGE_CLOEXEC. With CLOSE_RANGE_UNSHARE the process first gets its
// own copy of a shared table.
func (t *Table) CloseRange(tid int64, first, last uint64, flags uint32) {
	th, fds := t.fdsOf(tid)
	if fds == nil || first > last {
		return
	}
	if flags&closeRangeUnshare != 0 {
		th.proc.unshareFDs()
		fds = th.proc.fds
	}
	fds.Each(func(f *FD) bool {
		if n := f.Num; n < 0 || uint64(n) < first || uint64(n) > last {
			return true
		}
		if flags&closeRangeCloexec != 0 {
			f.Flags |= OCloexec
		} else {
			fds.del(f.Num)
		}
		return true
	})
}

// Dup records dup/dup2/dup3/fcntl(F_DUPFD): newfd becomes a copy of oldfd
// (closing what newfd was). cloexec sets O_CLOEXEC on the copy (dup3 with
// O_CLOEXEC, F_DUPFD_CLOEXEC); the copy never inherits it otherwise.
func (t *Table) Dup(tid, oldfd, newfd int64, cloexec bool) *FD {
	_, fds := t.fdsOf(tid)
	if fds == nil || newfd < 0 {
		return nil
	}
	old := fds.Get(oldfd)
	if old == nil {
		fds.del(newfd)
		return nil
	}
	if oldfd == newfd {
		return old
	}
	cp := *old
	cp.Num = newfd
	cp.NameChanged = false
	cp.Flags &^= OCloexec
	if cloexec {
		cp.Flags |= OCloexec
	}
	return fds.put(&cp)
}

// Unshare records unshare(CLONE_FILES) (and CLONE_FS is ignored): the
// process gets its own copy of its descriptor table.
func (t *Table) Unshare(tid int64, flags CloneFlags) {
	if th, fds := t.fdsOf(tid); fds != nil && flags&CloneFiles != 0 {
		th.proc.unshareFDs()
	}
}
