package catalog

import "strconv"

// socketDomains are the Linux (x86_64) values of the address family names
// the domain parameter of socket and socketpair names. The runtime keeps
// its own copy (in runtime/event, which the compiler must not import); a
// test there checks that both agree for every name and render every value
// alike.
var socketDomains = map[string]uint64{
	"AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4,
	"AF_APPLETALK": 5, "AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9, "AF_INET6": 10,
	"AF_ROSE": 11, "AF_DECnet": 12, "AF_NETBEUI": 13, "AF_SECURITY": 14, "AF_KEY": 15, "AF_NETLINK": 16,
	"AF_ROUTE": 16, "AF_PACKET": 17, "AF_ASH": 18, "AF_ECONET": 19, "AF_ATMSVC": 20, "AF_RDS": 21,
	"AF_SNA": 22, "AF_IRDA": 23, "AF_PPPOX": 24, "AF_WANPIPE": 25, "AF_LLC": 26, "AF_CAN": 29,
	"AF_TIPC": 30, "AF_BLUETOOTH": 31, "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34, "AF_PHONET": 35,
	"AF_IEEE802154": 36, "AF_CAIF": 37, "AF_ALG": 38, "AF_NFC": 39,
}

// SocketDomainValue returns the Linux value of an address family name of
// socket's domain parameter ("AF_PACKET" is 17); false for an unknown name.
func SocketDomainValue(name string) (uint64, bool) {
	v, ok := socketDomains[name]
	return v, ok
}

// SocketDomainNames lists the names of socket's domain parameter, in the
// event table's order (the order in which a value's name is looked up).
func SocketDomainNames() []string {
	ev, ok := EventByName("socket")
	if !ok {
		return nil
	}
	i, ok := ev.Param("domain")
	if !ok {
		return nil
	}
	return ev.Params[i].Flags
}

// SocketDomainText returns evt.arg.domain for domain value v (the 32-bit
// argument) as the runtime renders it: the first name in the event
// table's order whose value is v, or the decimal number when no name has
// that value.
func SocketDomainText(v uint64) string {
	for _, n := range SocketDomainNames() {
		if x, ok := socketDomains[n]; ok && x == v {
			return n
		}
	}
	return strconv.FormatUint(v, 10)
}
