package extract

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// fdNumber returns the descriptor the event is about: its "fd" parameter
// of type FD (for the open family, socket and accept that is the new
// descriptor), or else a return value of type FD (dup, eventfd, ...).
func (e *Env) fdNumber() (int64, bool) {
	info := e.ev.Info
	if i, ok := info.Param("fd"); ok && info.Params[i].Type == catalog.ParamFD {
		if i < len(e.ev.Params) && e.ev.Params[i].Set {
			return e.ev.Params[i].I, true
		}
		return 0, false
	}
	if ri := e.ev.RetParam(); ri >= 0 && info.Params[ri].Type == catalog.ParamFD && e.ev.Params[ri].Set {
		return e.ev.Params[ri].I, true
	}
	return 0, false
}

// fdInfo returns the event's descriptor, or nil. A failed open gets a
// descriptor made from its arguments, so that fd.name names the file the
// call tried to open, as in Falco.
func (e *Env) fdInfo() *state.FD {
	if e.fdDone {
		return e.fd
	}
	e.fdDone = true
	n, ok := e.fdNumber()
	e.fdNum, e.fdHas = n, ok
	if !ok {
		return nil
	}
	if n >= 0 {
		e.fd = e.deps.Table.FD(e.ev.Tid, n)
		return e.fd
	}
	switch e.ev.Info.Name {
	case "open", "openat", "openat2", "creat":
		name, ok := e.ev.Str("name")
		if !ok {
			return nil
		}
		dirfd, ok := e.ev.Int("dirfd")
		if !ok {
			dirfd = event.AtFDCWD
		}
		flags, _ := e.ev.Uint("flags")
		typ := state.FDFile
		if flags&event.ODirectory != 0 {
			typ = state.FDDirectory
		}
		e.tmpFD = state.FD{Num: n, Type: typ, NameRaw: name, Flags: uint32(flags)}
		e.tmpFD.SetName(e.deps.Table.ResolveAt(e.ev.Tid, dirfd, name))
		e.fd = &e.tmpFD
	}
	return e.fd
}

func fdStr(f func(fd *state.FD) (string, bool)) builder {
	return strF(func(e *Env) (string, bool) {
		fd := e.fdInfo()
		if fd == nil {
			return "", false
		}
		return f(fd)
	})
}

func fdBool(f func(fd *state.FD) (bool, bool)) builder {
	return boolF(func(e *Env) (bool, bool) {
		fd := e.fdInfo()
		if fd == nil {
			return false, false
		}
		return f(fd)
	})
}

func isIP(fd *state.FD) bool { return fd.Type == state.FDIPv4 || fd.Type == state.FDIPv6 }

// fdAddr builds the address fields (fd.cip, fd.snet, ...): IP sockets
// only.
func fdAddr(f func(e *Env, fd *state.FD) netip.AddrPort) builder {
	return func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			fd := e.fdInfo()
			if fd == nil || !isIP(fd) {
				return false
			}
			a := f(e, fd).Addr()
			if !a.IsValid() {
				return false
			}
			*v = vm.Value{Kind: vm.KindAddr, A: a.Unmap()}
			return true
		}, nil
	}
}

func fdPort(f func(e *Env, fd *state.FD) netip.AddrPort) builder {
	return uintF(func(e *Env) (uint64, bool) {
		fd := e.fdInfo()
		if fd == nil || !isIP(fd) {
			return 0, false
		}
		ap := f(e, fd)
		if !ap.IsValid() {
			return 0, false
		}
		return uint64(ap.Port()), true
	})
}

func fdProto(f func(e *Env, fd *state.FD) netip.AddrPort, listening bool) builder {
	return strF(func(e *Env) (string, bool) {
		fd := e.fdInfo()
		if fd == nil || !isIP(fd) {
			return "", false
		}
		if fd.Server && !fd.Remote.IsValid() {
			// a listening socket: libsinsp gives the server side "" and
			// no client side
			return "", listening
		}
		ap := f(e, fd)
		if !ap.IsValid() {
			return "", false
		}
		return portText(ap.Port()), true
	})
}

// portTexts holds the text of the well-known ports, so that the common
// cases allocate nothing.
var portTexts = func() (t [1024]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func portText(p uint16) string {
	if int(p) < len(portTexts) {
		return portTexts[p]
	}
	return strconv.Itoa(int(p))
}

func client(_ *Env, fd *state.FD) netip.AddrPort { return fd.Client() }
func server(_ *Env, fd *state.FD) netip.AddrPort { return fd.ServerAddr() }

// local and remote orient a connected socket's ends as Falco does (see
// LocalAddrs), not as the kernel does.
func local(e *Env, fd *state.FD) netip.AddrPort {
	if e.clientIsLocal(fd) {
		return fd.Client()
	}
	return fd.ServerAddr()
}

func remote(e *Env, fd *state.FD) netip.AddrPort {
	if e.clientIsLocal(fd) {
		return fd.ServerAddr()
	}
	return fd.Client()
}

// fdTypeChars are fd.typechar values as strings, so that extracting
// them allocates nothing.
var fdTypeChars = func() map[byte]string {
	m := make(map[byte]string)
	for t := state.FDUnknown; t <= state.FDMemfd; t++ {
		m[t.Char()] = string([]byte{t.Char()})
	}
	return m
}()

func fdFields(r map[string]builder) {
	fdNameFields(r)
	fdSockFields(r)
	fdFileFields(r)
}

// fdNameFields registers the descriptor number, type and name fields.
func fdNameFields(r map[string]builder) {
	r["fd.num"] = intF(func(e *Env) (int64, bool) {
		e.fdInfo()
		return e.fdNum, e.fdHas
	})
	r["fd.type"] = fdStr(func(fd *state.FD) (string, bool) { return fd.Type.String(), true })
	r["fd.typechar"] = fdStr(func(fd *state.FD) (string, bool) { return fdTypeChars[fd.Type.Char()], true })
	r["fd.name"] = fdStr(func(fd *state.FD) (string, bool) { return fd.Name(), true })
	r["fd.nameraw"] = fdStr(func(fd *state.FD) (string, bool) { return fd.NameRaw, true })
	r["fd.directory"] = fdStr(func(fd *state.FD) (string, bool) {
		d := fd.Directory()
		return d, fd.Type == state.FDFile || fd.Type == state.FDDirectory || fd.Type == state.FDMemfd
	})
	r["fd.filename"] = fdStr(func(fd *state.FD) (string, bool) {
		return fd.Filename(), fd.Type == state.FDFile || fd.Type == state.FDMemfd
	})
	// fd.ip, fd.port and fd.net match "either end" in Falco; a single
	// value can only hold one, so they give the server end. See the
	// package report for what the VM would need for both.
}

// fdSockFields registers the socket address, port and protocol fields.
func fdSockFields(r map[string]builder) {
	r["fd.ip"] = fdAddr(server)
	r["fd.cip"] = fdAddr(client)
	r["fd.sip"] = fdAddr(server)
	r["fd.lip"] = fdAddr(local)
	r["fd.rip"] = fdAddr(remote)
	r["fd.net"] = fdAddr(server)
	r["fd.cnet"] = fdAddr(client)
	r["fd.snet"] = fdAddr(server)
	r["fd.lnet"] = fdAddr(local)
	r["fd.rnet"] = fdAddr(remote)
	r["fd.port"] = fdPort(server)
	r["fd.cport"] = fdPort(client)
	r["fd.sport"] = fdPort(server)
	r["fd.lport"] = fdPort(local)
	r["fd.rport"] = fdPort(remote)
	// The *proto fields are the port as text: Falco turns off libsinsp's
	// port-to-service resolution (hostname_and_port_resolution), so it
	// prints "53", not "domain". A listening socket's fd.sproto is "".
	r["fd.cproto"] = fdProto(client, false)
	r["fd.sproto"] = fdProto(server, true)
	r["fd.lproto"] = fdProto(local, false)
	r["fd.rproto"] = fdProto(remote, false)
	r["fd.l4proto"] = fdStr(func(fd *state.FD) (string, bool) {
		if !isIP(fd) {
			return "", false
		}
		s := fd.L4Proto.String()
		return s, s != ""
	})
	r["fd.sockfamily"] = fdStr(func(fd *state.FD) (string, bool) {
		switch {
		case isIP(fd):
			return "ip", true
		case fd.Type == state.FDUnix:
			return "unix", true
		}
		return "", false
	})
}

// fdFileFields registers the connection, owner, container and file
// fields.
func fdFileFields(r map[string]builder) {
	r["fd.is_server"] = fdBool(func(fd *state.FD) (bool, bool) { return fd.Server, fd.Type.IsSocket() })
	r["fd.connected"] = fdBool(func(fd *state.FD) (bool, bool) { return fd.Connected, fd.Type.IsSocket() })
	r["fd.name_changed"] = fdBool(func(fd *state.FD) (bool, bool) { return fd.NameChanged, true })
	r["fd.uid"] = renderF(func(e *Env, dst []byte) ([]byte, bool) {
		if e.fdInfo(); !e.fdHas {
			return dst, false
		}
		dst = strconv.AppendInt(dst, e.ev.Tid, 10)
		return strconv.AppendInt(dst, e.fdNum, 10), true
	})
	r["fd.containername"] = renderF(func(e *Env, dst []byte) ([]byte, bool) {
		fd, th := e.fdInfo(), e.thread()
		if fd == nil || th == nil {
			return dst, false
		}
		dst = append(dst, th.Proc().ContainerID...)
		dst = append(dst, ':')
		return fd.AppendName(dst), true
	})
	r["fd.containerdirectory"] = renderF(func(e *Env, dst []byte) ([]byte, bool) {
		fd, th := e.fdInfo(), e.thread()
		if fd == nil || th == nil {
			return dst, false
		}
		dst = append(dst, th.Proc().ContainerID...)
		dst = append(dst, ':')
		return append(dst, fd.Directory()...), true
	})
	r["fd.dev"] = intF(func(e *Env) (int64, bool) {
		fd := e.fdInfo()
		return int64(int32(fdDev(fd))), fd != nil
	})
	r["fd.dev.major"] = intF(func(e *Env) (int64, bool) {
		fd := e.fdInfo()
		return int64((fdDev(fd) & 0xfff00) >> 8), fd != nil
	})
	r["fd.dev.minor"] = intF(func(e *Env) (int64, bool) {
		fd := e.fdInfo()
		d := fdDev(fd)
		return int64((d & 0xff) | ((d >> 12) & 0xfff00)), fd != nil
	})
	r["fd.ino"] = intF(func(e *Env) (int64, bool) {
		fd := e.fdInfo()
		if fd == nil {
			return 0, false
		}
		return int64(fd.Ino), true
	})
	r["fd.is_upper_layer"] = fdBool(func(fd *state.FD) (bool, bool) { return fd.UpperLayer, true })
	r["fd.is_lower_layer"] = fdBool(func(fd *state.FD) (bool, bool) { return fd.LowerLayer, true })
	r["fd.types"] = fdTypesField
}

func fdDev(fd *state.FD) uint32 {
	if fd == nil {
		return 0
	}
	return fd.Dev
}

// fdTypesField is fd.types: the distinct kinds of the process's open
// descriptors (a list), or with an index the kind of descriptor N.
func fdTypesField(ref vm.FieldRef) (extractor, error) {
	n, err := index(ref)
	if err != nil {
		return nil, err
	}
	var list []string
	return func(e *Env, v *vm.Value) bool {
		th := e.thread()
		if th == nil {
			return false
		}
		if n >= 0 {
			fd := th.FD(int64(n))
			if fd == nil {
				return false
			}
			list = append(list[:0], fd.Type.String())
		} else {
			list = list[:0]
			th.Proc().FDs().Each(func(fd *state.FD) bool {
				if s := fd.Type.String(); !slices.Contains(list, s) {
					list = append(list, s)
				}
				return true
			})
			slices.Sort(list)
		}
		*v = vm.Value{Kind: vm.KindList, L: list}
		return true
	}, nil
}
