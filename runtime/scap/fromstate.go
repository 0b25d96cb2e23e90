package scap

import (
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/state"
)

// HeaderFromState describes the state's threads, their descriptors and the
// given users as a capture's tables (for a capture written from a live
// session or a replay).
func HeaderFromState(t *state.Table, users []state.User, groups []state.Group, hostname string) *Header {
	h := &Header{Major: currentMajor, Minor: currentMinor, Machine: &MachineInfo{Hostname: hostname}}
	for _, u := range users {
		h.Users = append(h.Users, User{UID: u.UID, GID: u.GID, Name: u.Name, Home: u.Home, Shell: u.Shell})
	}
	for _, g := range groups {
		h.Groups = append(h.Groups, Group{GID: g.GID, Name: g.Name})
	}
	t.Each(func(th *state.Thread) bool {
		if th.Exited() {
			return true
		}
		h.addThread(threadOf(th))
		return true
	})
	return h
}

func threadOf(th *state.Thread) *Thread {
	p := th.Proc()
	out := &Thread{
		Tid: th.Tid, Pid: p.Pid, PTid: p.PPid, Sid: p.Sid, Vpgid: p.Vpgid, Pgid: p.Pgid,
		Comm: th.Comm(), Exe: p.Exe(), ExePath: p.ExePath(), Args: p.Args(), Env: p.Env(), Cwd: p.Cwd(),
		UID: th.Creds.EUID, GID: th.Creds.EGID, Vtid: th.Vtid, Vpid: p.Vpid,
		PidnsInitStart: p.PidNSInitStart, TTY: p.TTY, LoginUID: p.LoginUID,
		ExeWritable: p.ExeWritable, CapInheritable: th.Caps.Inheritable, CapPermitted: th.Caps.Permitted,
		CapEffective: th.Caps.Effective, ExeUpperLayer: p.ExeUpperLayer, ExeLowerLayer: p.ExeLowerLayer,
		ExeFromMemfd: p.ExeFromMemfd, ExeIno: p.ExeIno, ExeInoCtime: p.ExeCtime, ExeInoMtime: p.ExeMtime,
	}
	if len(out.Cwd) > 1 {
		// as libscap writes it (/proc/PID/cwd); proc.cwd adds the slash
		out.Cwd = strings.TrimSuffix(out.Cwd, "/")
	}
	for _, cg := range p.Cgroups() {
		out.Cgroups = append(out.Cgroups, cg.Controllers+"="+cg.Path)
	}
	if th.IsMain() && p.FDs() != nil {
		p.FDs().Each(func(f *state.FD) bool {
			if fd, ok := fdOf(f); ok {
				out.FDs = append(out.FDs, fd)
			}
			return true
		})
	}
	return out
}

var stateFDTypes = func() map[state.FDType]uint8 {
	m := map[state.FDType]uint8{state.FDDirectory: FDDirectory, state.FDPipe: FDFifo, state.FDMemfd: FDMemfd}
	for k, v := range fdTypes {
		if v != state.FDUnknown {
			m[v] = k
		}
	}
	return m
}()

func fdOf(f *state.FD) (FD, bool) {
	out := FD{Num: f.Num, Ino: f.Ino, Name: f.Name()}
	switch f.Type {
	case state.FDFile:
		out.Type = FDFileV2
		out.Dev = f.Dev
		if openFlagsParam != nil {
			out.OpenFlags = uint32(ppmFlags(&ppmParam{Type: catalog.ParamFlags32, Names: ppmFlags_file_flags}, openFlagsParam, uint64(f.Flags)))
		}
	case state.FDIPv4, state.FDIPv6:
		out.Name = ""
		out.L4Proto = scapL4(f.L4Proto)
		if f.Server && !f.Remote.IsValid() {
			out.Type = FDIPv4Serv
			if f.Type == state.FDIPv6 {
				out.Type = FDIPv6Serv
			}
			out.SIP, out.SPort = f.Local.Addr(), f.Local.Port()
		} else {
			out.Type = FDIPv4Sock
			if f.Type == state.FDIPv6 {
				out.Type = FDIPv6Sock
			}
			c, s := f.Client(), f.ServerAddr()
			out.SIP, out.SPort, out.DIP, out.DPort = c.Addr(), c.Port(), s.Addr(), s.Port()
		}
		if out.Type == FDIPv4Sock || out.Type == FDIPv4Serv {
			if !out.SIP.Unmap().Is4() && out.SIP.IsValid() || !out.DIP.Unmap().Is4() && out.DIP.IsValid() {
				return out, false
			}
		}
	case state.FDUnix:
		out.Type = FDUnixSock
		if f.UnixPath != "" {
			out.Name = f.UnixPath
		}
	default:
		t, ok := stateFDTypes[f.Type]
		if !ok {
			return out, false
		}
		out.Type = t
	}
	return out, true
}

func scapL4(p state.L4Proto) uint8 {
	switch p {
	case state.L4TCP:
		return L4TCP
	case state.L4UDP:
		return L4UDP
	case state.L4ICMP:
		return L4ICMP
	case state.L4Raw:
		return L4Raw
	}
	return L4Unknown
}
