package extract

import (
	"net/netip"
	"testing"
)

// The trace: a host process (10) connects out to a remote server and to
// a server on this machine, accepts a connection from this machine and
// one from a remote client (IPv4 and IPv6), and dups a connected socket
// onto its stdout (the redirect rule's case); a process in a container
// (20) connects out from the container's address.
const orientTrace = `# sockets seen from both ends
{"ts": 1, "type": "socket", "tid": 10, "res": 3, "args": {"domain": "AF_INET", "type": 1, "proto": 0}, "proc": {"comm": "app", "exe": "app", "cwd": "/", "uid": 0, "gid": 0}}
{"ts": 2, "type": "connect", "tid": 10, "res": 0, "args": {"fd": 3, "tuple": "192.168.7.2:40000->93.184.216.34:443"}}
{"ts": 3, "type": "socket", "tid": 10, "res": 4, "args": {"domain": "AF_INET", "type": 1, "proto": 0}}
{"ts": 4, "type": "connect", "tid": 10, "res": 0, "args": {"fd": 4, "tuple": "127.0.0.1:40001->127.0.0.1:8080"}}
{"ts": 5, "type": "accept4", "tid": 10, "res": 5, "args": {"tuple": "127.0.0.1:40002->127.0.0.1:8080", "flags": 0}}
{"ts": 6, "type": "accept4", "tid": 10, "res": 6, "args": {"tuple": "198.51.100.9:50000->192.168.7.2:8080", "flags": 0}}
{"ts": 7, "type": "accept4", "tid": 10, "res": 7, "args": {"tuple": "2001:db8:5::9:50001->2001:db8:1::2:8080", "flags": 0}}
{"ts": 8, "type": "accept4", "tid": 10, "res": 8, "args": {"tuple": "2001:db8:1::7:50002->2001:db8:1::2:8080", "flags": 0}}
{"ts": 9, "type": "dup2", "tid": 10, "res": 1, "args": {"oldfd": 3, "newfd": 1}}
{"ts": 10, "type": "socket", "tid": 20, "res": 3, "args": {"domain": "AF_INET", "type": 1, "proto": 0}, "proc": {"ppid": 1, "comm": "nc", "exe": "nc", "cwd": "/", "uid": 0, "gid": 0, "cgroup": "/system.slice/docker-` + dockerID + `.scope"}}
{"ts": 11, "type": "connect", "tid": 20, "res": 0, "args": {"fd": 3, "tuple": "172.17.0.2:41000->192.168.7.2:4444"}}
{"ts": 12, "type": "dup2", "tid": 20, "res": 0, "args": {"oldfd": 3, "newfd": 0}}
`

// TestSocketOrientation checks fd.lip/rip/lport/rport against Falco's
// definitions: the client end is local when the client's address is one
// of the machine's (the container's, in a container), else the server end.
func TestSocketOrientation(t *testing.T) {
	deps := testDeps(t)
	deps.LocalAddrs = NewLocalAddrs([]netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.7.2"), netip.MustParseAddr("2001:db8:1::2"),
	})
	fc := deps.Containers.(fakeContainers)
	c := *fc[dockerID[:12]]
	c.IP = "172.17.0.2"
	deps.Containers = fakeContainers{dockerID[:12]: &c}
	runTrace(t, deps, orientTrace, map[int]map[string]string{
		// client on this machine to a remote server
		1: {"fd.lip": "192.168.7.2", "fd.lport": "40000", "fd.rip": "93.184.216.34", "fd.rport": "443",
			"fd.cport": "40000", "fd.sport": "443", "fd.is_server": "false"},
		// both ends on loopback: the client end is local, from either side
		3: {"fd.lport": "40001", "fd.rport": "8080"},
		4: {"fd.lport": "40002", "fd.rport": "8080", "fd.cport": "40002", "fd.sport": "8080", "fd.is_server": "true"},
		// server side, remote client
		5: {"fd.lip": "192.168.7.2", "fd.lport": "8080", "fd.rip": "198.51.100.9", "fd.rport": "50000"},
		// IPv6: local when the first 64 bits are an interface's
		6: {"fd.lip": "2001:db8:1::2", "fd.lport": "8080", "fd.rip": "2001:db8:5::9", "fd.rport": "50001"},
		7: {"fd.lip": "2001:db8:1::7", "fd.lport": "50002", "fd.rip": "2001:db8:1::2", "fd.rport": "8080"},
		// the redirect: stdout is the dup of the outbound socket
		8: {"fd.num": "1", "fd.type": "ipv4", "fd.lport": "40000", "fd.rport": "443"},
		// in a container: the container's address is local
		10: {"fd.lip": "172.17.0.2", "fd.lport": "41000", "fd.rip": "192.168.7.2", "fd.rport": "4444"},
		11: {"fd.num": "0", "fd.lport": "41000", "fd.rport": "4444", "container.ip": "172.17.0.2"},
	})

	// Without the machine's addresses (a replay), the socket's own end.
	runTrace(t, testDeps(t), orientTrace, map[int]map[string]string{
		4: {"fd.lport": "8080", "fd.rport": "40002"},
		6: {"fd.lport": "8080", "fd.rport": "50001"},
	})
}

// TestLocalAddrsReread: an address missing from the set makes the
// machine's addresses be read again, at most every rereadEvery.
func TestLocalAddrsReread(t *testing.T) {
	reads := 0
	addrs := []netip.Addr{netip.MustParseAddr("10.1.1.1")}
	l := NewLocalAddrs(addrs)
	l.read = func() ([]netip.Addr, error) {
		reads++
		return addrs, nil
	}
	if !l.has(netip.MustParseAddr("10.1.1.1")) || reads != 0 {
		t.Fatalf("a known address: reads %d", reads)
	}
	addrs = append(addrs, netip.MustParseAddr("198.18.0.1"))
	if !l.has(netip.MustParseAddr("198.18.0.1")) || reads != 1 {
		t.Fatalf("a new address: reads %d", reads)
	}
	if l.has(netip.MustParseAddr("203.0.113.1")) || reads != 1 {
		t.Fatalf("a miss right after a read must not read again: reads %d", reads)
	}
	if !l.has(netip.MustParseAddr("::ffff:198.18.0.1")) {
		t.Error("an IPv4-mapped address is its IPv4 address")
	}
}
