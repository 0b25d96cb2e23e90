package scap

import (
	"math/rand"
	"net/netip"
	"reflect"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
)

// TestEveryCatalogEvent: every event type of the catalog has a libscap
// event code (its own or, for syscalls without one, the generic event),
// and an event with every parameter set survives encoding into the
// current libscap event and decoding back, parameter for parameter.
func TestEveryCatalogEvent(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	rng := rand.New(rand.NewSource(1))
	var raw RawEvent
	var back event.Event
	missing := 0
	for _, ci := range catalog.Events() {
		var ev event.Event
		ev.Reset(ci)
		ev.Ts, ev.Tid, ev.CPU = 1000, 42, 1
		for i := range ci.Params {
			fill(rng, ci.Name, &ci.Params[i], &ev.Params[i])
		}
		if !enc.Encode(&ev, &raw) {
			missing++
			t.Logf("%s (%s): no libscap event code", ci.Name, ci.Category)
			continue
		}
		// through the bytes of a block, as a file would carry them
		if !dec.Decode(&raw, &back) {
			t.Errorf("%s: encoded as %s, not decoded", ci.Name, ppmTable[raw.Type].Sym)
			continue
		}
		if back.Info != ci {
			t.Errorf("%s: decoded as %s", ci.Name, back.Type())
			continue
		}
		for i := range ci.Params {
			p := &ci.Params[i]
			if !encodable(p) || !ev.Params[i].Set {
				continue
			}
			if !reflect.DeepEqual(norm(ev.Params[i]), norm(back.Params[i])) {
				t.Errorf("%s.%s (%s): %+v, decoded %+v", ci.Name, p.Name, p.Type, ev.Params[i], back.Params[i])
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d catalog events have no libscap event code", missing)
	}
}

func encodable(p *catalog.Param) bool {
	return p.Type != catalog.ParamFDList && p.Type != catalog.ParamDynamic
}

func norm(p event.Param) event.Param {
	if len(p.B) == 0 {
		p.B = nil
	}
	return p
}

// fill sets p to a value its libscap type can carry.
func fill(rng *rand.Rand, name string, d *catalog.Param, p *event.Param) {
	p.Set = true
	switch d.Type {
	case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath:
		p.S = "/some/path"
	case catalog.ParamByteBuf, catalog.ParamCharBufArray, catalog.ParamCharBufPairArray:
		p.B = []byte("a\x00b\x00")
	case catalog.ParamSockAddr:
		p.Family, p.Addr = event.AFInet, netip.MustParseAddrPort("10.1.2.3:443")
	case catalog.ParamSockTuple:
		p.Family = event.AFInet
		p.Client, p.Server = netip.MustParseAddrPort("10.1.2.3:40000"), netip.MustParseAddrPort("10.9.8.7:443")
	case catalog.ParamIPv4Addr, catalog.ParamIPv4Net, catalog.ParamIPAddr, catalog.ParamIPNet:
		p.Addr = netip.AddrPortFrom(netip.MustParseAddr("10.1.2.3"), 0)
	case catalog.ParamIPv6Addr, catalog.ParamIPv6Net:
		p.Addr = netip.AddrPortFrom(netip.MustParseAddr("fd00::1"), 0)
	case catalog.ParamFDList, catalog.ParamDynamic:
		p.Set = false
	case catalog.ParamInt8, catalog.ParamInt16, catalog.ParamInt32, catalog.ParamInt64,
		catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID:
		p.I = int64(rng.Intn(100)) - 50
	case catalog.ParamBool:
		p.U = 1
	case catalog.ParamSyscallID:
		id, ok := catalog.SyscallID(name)
		p.U, p.Set = uint64(id), ok // not x86_64: libscap's code is kept
	default:
		if fs := event.FlagsOf(d); fs != nil && d.Type.IsFlags() {
			// a named value (flags Falco has no name for do not travel)
			names := fs.Names()
			v, _ := event.FlagValue(d, names[rng.Intn(len(names))])
			p.U = v
			return
		}
		p.U = uint64(rng.Intn(100))
	}
}
