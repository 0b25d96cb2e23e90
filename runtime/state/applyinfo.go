package state

import (
	"sync"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
)

// applyOp is what ApplyBefore and ApplyAfter do for an event type,
// decided once per type instead of by name on every event.
type applyOp uint8

const (
	opNone       applyOp = iota // the event changes no state
	opOther                     // decided by name in ApplyBefore
	opOpen                      // open, openat, openat2, creat, open_by_handle_at
	opClose                     // close (ApplyAfter)
	opCloseRange                // close_range (ApplyAfter)
	opConnect                   // connect
)

// applyInfo is an event type's applyOp and the positions of the
// parameters the hot updates read (-1 when the type has none).
type applyInfo struct {
	info *catalog.Event
	op   applyOp
	// creat is true for creat, whose flags are implied.
	creat bool
	// at is true for the open variants that take a directory fd.
	at                                                   bool
	name, flags, mode, dirfd, mountfd, dev, ino, creatFl int
	fd, tuple, addr                                      int
	// ret is RetParam(info).
	ret int
}

// applyInfos holds every catalog event's applyInfo, indexed by
// catalog.Event.ID. It is built once and only read afterwards, so it is
// safe for concurrent use.
var applyInfos = sync.OnceValue(func() []*applyInfo {
	l := make([]*applyInfo, catalog.NumEvents()+1)
	for _, e := range catalog.Events() {
		l[e.ID] = newApplyInfo(e)
	}
	return l
})

// applyInfoOf returns info's applyInfo.
func applyInfoOf(info *catalog.Event) *applyInfo {
	if l := applyInfos(); info.ID > 0 && info.ID < len(l) && l[info.ID].info == info {
		return l[info.ID]
	}
	return newApplyInfo(info) // not from the catalog: a test's own type
}

func newApplyInfo(e *catalog.Event) *applyInfo {
	idx := func(name string) int {
		if i, ok := e.Param(name); ok {
			return i
		}
		return -1
	}
	ai := &applyInfo{
		info: e,
		name: idx("name"), flags: idx("flags"), mode: idx("mode"), dirfd: idx("dirfd"),
		mountfd: idx("mountfd"), dev: idx("dev"), ino: idx("ino"), creatFl: idx("creat_flags"),
		fd: idx("fd"), tuple: idx("tuple"), addr: idx("addr"), ret: event.RetParam(e),
	}
	switch e.Name {
	case "open", "openat", "openat2", "creat", "open_by_handle_at":
		ai.op = opOpen
		ai.creat = e.Name == "creat"
		ai.at = e.Name != "open" && e.Name != "creat"
	case "close":
		ai.op = opClose
	case "close_range":
		ai.op = opCloseRange
	case "connect":
		ai.op = opConnect
	default:
		// The state syscalls of the catalog, and the scheduler's exit.
		if _, ok := catalog.IsStateSyscall(e.Name); ok || e.Name == "procexit" {
			ai.op = opOther
		}
	}
	return ai
}

// UpdatesState reports whether events of type e change the state tables
// (ApplyBefore or ApplyAfter do something for them).
func UpdatesState(e *catalog.Event) bool { return applyInfoOf(e).op != opNone }

// Updater applies the state changes of events as [ApplyBefore] and
// [ApplyAfter] do, finding what to do for an event type in a table
// indexed by its catalog ID (no map lookup per event). The zero value is
// ready to use. An Updater is not safe for concurrent
// use.
type Updater struct {
	infos []*applyInfo // applyInfos()
	// last is the applyInfo of a type that is not the catalog's (tests).
	last *applyInfo
	// cur is the applyInfo of curInfo, the catalog type infoOf found
	// last (After follows Before; types repeat).
	cur     *applyInfo
	curInfo *catalog.Event
}

func (u *Updater) infoOf(info *catalog.Event) *applyInfo {
	if info == u.curInfo && info != nil {
		return u.cur
	}
	if u.infos == nil {
		u.infos = applyInfos()
	}
	if id := info.ID; id > 0 && id < len(u.infos) {
		if ai := u.infos[id]; ai.info == info {
			u.cur, u.curInfo = ai, info
			return ai
		}
	}
	if u.last == nil || u.last.info != info {
		u.last = newApplyInfo(info)
	}
	return u.last
}

// okAt is [ok] with the return parameter's position known.
func okAt(ev *event.Event, ai *applyInfo) bool {
	_, has := setParam(ev, ai.ret)
	return has && ev.Res >= 0
}

// setParam returns parameter i when ev carries it.
func setParam(ev *event.Event, i int) (*event.Param, bool) {
	if i < 0 || i >= len(ev.Params) || !ev.Params[i].Set {
		return nil, false
	}
	return &ev.Params[i], true
}

// intAt is [event.Event.Int] for the parameter at position i.
func intAt(ev *event.Event, i int) (int64, bool) {
	p, ok := setParam(ev, i)
	if !ok {
		return 0, false
	}
	if event.IsSigned(ev.Info.Params[i].Type) {
		return p.I, true
	}
	return int64(p.U), true
}

// uintAt is [event.Event.Uint] for the parameter at position i.
func uintAt(ev *event.Event, i int) (uint64, bool) {
	p, ok := setParam(ev, i)
	if !ok {
		return 0, false
	}
	if event.IsSigned(ev.Info.Params[i].Type) {
		return uint64(p.I), true
	}
	return p.U, true
}
