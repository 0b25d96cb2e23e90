package extract

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// LocalAddrs are the addresses Falco counts as this machine's when it
// orients a connected socket (fd.lip, fd.rip, fd.lport, fd.rport, fd.lnet,
// fd.rnet): the interfaces' IPv4 addresses, exactly, and their IPv6
// addresses, by the first 64 bits. Falco does not ask the socket which
// end is its own: the client end is "local" when the client's address is
// the machine's (or, for an event in a container, the container's IPv4
// address), and otherwise the server end is. So on loopback the server's
// side of a connection has the client's port as fd.lport, as in Falco.
//
// The machine's addresses are read again, at most every rereadEvery, when
// an address is not among them (an address added after the start); Falco
// reads them once.
//
// A LocalAddrs is safe for concurrent use.
type LocalAddrs struct {
	set     atomic.Pointer[addrSet]
	read    func() ([]netip.Addr, error) // nil: a fixed set
	lastTry atomic.Int64                 // unix ns of the last read
}

// rereadEvery bounds how often a miss reads the interfaces again (a
// netlink dump of some tens of microseconds).
const rereadEvery = 250 * time.Millisecond

type addrSet struct {
	v4 map[netip.Addr]bool
	v6 map[[8]byte]bool
}

func newAddrSet(addrs []netip.Addr) *addrSet {
	s := &addrSet{v4: map[netip.Addr]bool{}, v6: map[[8]byte]bool{}}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			s.v4[a] = true
		} else if a.Is6() {
			s.v6[prefix64(a)] = true
		}
	}
	return s
}

// NewLocalAddrs returns the fixed set of the given interface addresses.
func NewLocalAddrs(addrs []netip.Addr) *LocalAddrs {
	l := &LocalAddrs{}
	l.set.Store(newAddrSet(addrs))
	return l
}

// HostLocalAddrs reads this machine's interface addresses.
func HostLocalAddrs() (*LocalAddrs, error) {
	addrs, err := hostAddrs()
	if err != nil {
		return nil, err
	}
	l := NewLocalAddrs(addrs)
	l.read = hostAddrs
	return l, nil
}

func hostAddrs() ([]netip.Addr, error) {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, ia := range ifaddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			addrs = append(addrs, p.Addr())
		}
	}
	return addrs, nil
}

func prefix64(a netip.Addr) [8]byte {
	b := a.As16()
	var p [8]byte
	copy(p[:], b[:8])
	return p
}

// has reports whether a is one of the machine's addresses.
func (l *LocalAddrs) has(a netip.Addr) bool {
	a = a.Unmap()
	if l.set.Load().has(a) {
		return true
	}
	if l.read == nil || !a.IsValid() {
		return false
	}
	now, last := time.Now().UnixNano(), l.lastTry.Load()
	if now-last < int64(rereadEvery) || !l.lastTry.CompareAndSwap(last, now) {
		return false
	}
	addrs, err := l.read()
	if err != nil {
		return false
	}
	s := newAddrSet(addrs)
	l.set.Store(s)
	return s.has(a)
}

func (s *addrSet) has(a netip.Addr) bool {
	if a.Is4() {
		return s.v4[a]
	}
	return a.Is6() && s.v6[prefix64(a)]
}

// clientIsLocal reports whether Falco would call fd's client end the local
// one (see LocalAddrs). Without an address set (a replay carries none),
// the local end is the socket's own, as the kernel reported it. In a
// container whose address is not known, Falco compares with every known
// container's address; this compares with the machine's.
func (e *Env) clientIsLocal(fd *state.FD) bool {
	l := e.deps.LocalAddrs
	if l == nil {
		return !fd.Server
	}
	ip := fd.Client().Addr().Unmap()
	if id, ok := e.containerID(); ok && id != container.HostID {
		if !ip.Is4() {
			return false // Falco places no IPv6 address in a container
		}
		if c := e.container(); c != nil && c.IP != "" {
			if cip, err := netip.ParseAddr(c.IP); err == nil && cip.Unmap() == ip {
				return true
			}
		}
	}
	return l.has(ip)
}
