package extract

import (
	"fmt"
	"strconv"
	"time"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Time formats of evt.time and friends (local time, as Falco).
func appendTime(dst []byte, ns int64, layout string, utc bool) []byte {
	t := time.Unix(0, ns)
	if utc {
		t = t.UTC()
	} else {
		t = t.Local()
	}
	return t.AppendFormat(dst, layout)
}

func timeF(layout string, utc bool) builder {
	return renderF(func(e *Env, dst []byte) ([]byte, bool) {
		return appendTime(dst, e.ev.Ts, layout, utc), true
	})
}

func (e *Env) relTime() uint64 {
	if e.deps.Start == 0 || e.ev.Ts < e.deps.Start {
		return 0
	}
	return uint64(e.ev.Ts - e.deps.Start)
}

func (e *Env) deltaTime() uint64 {
	if e.ev.Ts < e.prevTs {
		return 0
	}
	return uint64(e.ev.Ts - e.prevTs)
}

func evtFields(r map[string]builder) {
	evtTimeFields(r)
	evtTypeFields(r)
	evtIOFields(r)
}

// evtTimeFields registers the event number and time fields.
func evtTimeFields(r map[string]builder) {
	r["evt.num"] = uintF(func(e *Env) (uint64, bool) { return e.ev.Num, true })
	r["evt.time"] = timeF("15:04:05.000000000", false)
	r["evt.time.s"] = timeF("15:04:05", false)
	r["evt.time.iso8601"] = renderF(func(e *Env, dst []byte) ([]byte, bool) {
		dst = appendTime(dst, e.ev.Ts, "2006-01-02T15:04:05.000000000", true)
		return append(dst, "+0000"...), true
	})
	r["evt.datetime"] = timeF("2006-01-02 15:04:05.000000000", false)
	r["evt.datetime.s"] = timeF("2006-01-02 15:04:05", false)
	r["evt.rawtime"] = uintF(func(e *Env) (uint64, bool) { return uint64(e.ev.Ts), true })
	r["evt.rawtime.s"] = uintF(func(e *Env) (uint64, bool) { return uint64(e.ev.Ts) / 1e9, true })
	r["evt.rawtime.ns"] = uintF(func(e *Env) (uint64, bool) { return uint64(e.ev.Ts) % 1e9, true })
	r["evt.reltime"] = uintF(func(e *Env) (uint64, bool) { return e.relTime(), true })
	r["evt.reltime.s"] = uintF(func(e *Env) (uint64, bool) { return e.relTime() / 1e9, true })
	r["evt.reltime.ns"] = uintF(func(e *Env) (uint64, bool) { return e.relTime() % 1e9, true })
	r["evt.deltatime"] = uintF(func(e *Env) (uint64, bool) { return e.deltaTime(), true })
	r["evt.deltatime.s"] = uintF(func(e *Env) (uint64, bool) { return e.deltaTime() / 1e9, true })
	r["evt.deltatime.ns"] = uintF(func(e *Env) (uint64, bool) { return e.deltaTime() % 1e9, true })
}

// evtTypeFields registers the type, source, argument and result fields.
func evtTypeFields(r map[string]builder) {
	// Plugin fields: syscall events come from no plugin.
	r["evt.pluginname"] = none
	r["evt.plugininfo"] = none
	r["evt.source"] = strF(func(e *Env) (string, bool) { return e.ev.Source, e.ev.Source != "" })
	r["evt.is_async"] = boolF(func(e *Env) (bool, bool) { return !e.ev.Info.Syscall && e.ev.Info.Category == "internal", true })
	r["evt.asynctype"] = strF(func(e *Env) (string, bool) {
		if e.ev.Info.Syscall || e.ev.Info.Category != "internal" {
			return "", false
		}
		return e.ev.Info.Name, true
	})
	r["evt.hostname"] = strF(func(e *Env) (string, bool) { return e.deps.Hostname, e.deps.Hostname != "" })
	r["evt.type"] = strF(func(e *Env) (string, bool) { return e.ev.Info.Name, true })
	r["evt.type.is"] = func(ref vm.FieldRef) (extractor, error) {
		if _, ok := catalog.EventByName(ref.Arg); !ok {
			return nil, fmt.Errorf("unknown event type %q", ref.Arg)
		}
		name := ref.Arg
		return func(e *Env, v *vm.Value) bool {
			if e.ev.Info.Name == name {
				return setUint(v, 1)
			}
			return setUint(v, 0)
		}, nil
	}
	r["syscall.type"] = strF(func(e *Env) (string, bool) { return e.ev.Info.Name, e.ev.Info.Syscall })
	r["evt.category"] = strF(func(e *Env) (string, bool) { return e.ev.Info.Category, true })
	r["evt.cpu"] = intF(func(e *Env) (int64, bool) { return int64(e.ev.CPU), true })
	r["evt.args"] = renderF(func(e *Env, dst []byte) ([]byte, bool) { return e.ev.AppendArgs(dst, e), true })
	r["evt.info"] = r["evt.args"]
	r["evt.arg"] = argField
	r["evt.rawarg"] = rawArgField
	r["evt.buffer"] = func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			p := e.ev.Param("data")
			if p == nil {
				return false
			}
			*v = vm.Value{Kind: vm.KindBytes, B: p.B}
			return true
		}, nil
	}
	r["evt.buflen"] = uintF(func(e *Env) (uint64, bool) {
		p := e.ev.Param("data")
		if p == nil {
			return 0, false
		}
		if e.ev.HasRes() && e.ev.Res >= 0 {
			return uint64(e.ev.Res), true
		}
		return uint64(len(p.B)), true
	})
	r["evt.res"] = strF(func(e *Env) (string, bool) {
		if !e.ev.HasRes() {
			return "", false
		}
		if e.ev.Res >= 0 {
			return "SUCCESS", true
		}
		return errnoName(e.ev.Res), true
	})
	r["evt.rawres"] = intF(func(e *Env) (int64, bool) { return e.ev.Res, e.ev.HasRes() })
	r["evt.failed"] = boolF(func(e *Env) (bool, bool) { return e.ev.Failed(), e.ev.HasRes() })
}

// evtIOFields registers the I/O, count, open and latency fields.
func evtIOFields(r map[string]builder) {
	isRead := func(e *Env) bool { return e.ev.Info.Category == "io_read" }
	isWrite := func(e *Env) bool { return e.ev.Info.Category == "io_write" }
	r["evt.is_io"] = boolF(func(e *Env) (bool, bool) { return isRead(e) || isWrite(e), true })
	r["evt.is_io_read"] = boolF(func(e *Env) (bool, bool) { return isRead(e), true })
	r["evt.is_io_write"] = boolF(func(e *Env) (bool, bool) { return isWrite(e), true })
	r["evt.io_dir"] = strF(func(e *Env) (string, bool) {
		switch {
		case isRead(e):
			return "r", true
		case isWrite(e):
			return "w", true
		}
		return "", false
	})
	r["evt.is_wait"] = boolF(func(e *Env) (bool, bool) {
		c := e.ev.Info.Category
		return c == "wait" || c == "sleep", true
	})
	r["evt.is_syslog"] = boolF(func(e *Env) (bool, bool) {
		if !isWrite(e) {
			return false, true
		}
		f := e.fdInfo()
		return f != nil && f.Name() == "/dev/log", true
	})
	one := func(b bool) uint64 {
		if b {
			return 1
		}
		return 0
	}
	r["evt.count"] = uintF(func(*Env) (uint64, bool) { return 1, true })
	r["evt.count.exit"] = uintF(func(*Env) (uint64, bool) { return 1, true })
	r["evt.count.error"] = uintF(func(e *Env) (uint64, bool) { return one(e.ev.Failed()), true })
	countCat := func(cats ...string) builder {
		return uintF(func(e *Env) (uint64, bool) {
			if !e.ev.Failed() {
				return 0, true
			}
			for _, c := range cats {
				if e.ev.Info.Category == c {
					return 1, true
				}
			}
			return 0, true
		})
	}
	r["evt.count.error.file"] = countCat("file")
	r["evt.count.error.net"] = countCat("net")
	r["evt.count.error.memory"] = countCat("memory")
	r["evt.count.error.other"] = uintF(func(e *Env) (uint64, bool) {
		switch e.ev.Info.Category {
		case "file", "net", "memory":
			return 0, true
		}
		return one(e.ev.Failed()), true
	})
	r["evt.abspath"] = absPathField
	r["evt.is_open_read"] = openFlagF(func(flags, mode uint64) bool {
		acc := flags & event.OAccMode
		return acc == event.ORdonly || acc == event.ORdwr
	})
	r["evt.is_open_write"] = openFlagF(func(flags, mode uint64) bool {
		acc := flags & event.OAccMode
		return acc == event.OWronly || acc == event.ORdwr
	})
	r["evt.is_open_exec"] = openFlagF(func(flags, mode uint64) bool {
		return flags&(event.OCreat|event.OTmpfile) != 0 && mode&0o111 != 0
	})
	r["evt.is_open_create"] = openFlagF(func(flags, mode uint64) bool { return flags&event.OFCreated != 0 })
	// Deprecated since Falco 0.42: every event is an exit event and no
	// latency is measured.
	r["evt.dir"] = strF(func(*Env) (string, bool) { return "<", true })
	zero := uintF(func(*Env) (uint64, bool) { return 0, true })
	r["evt.latency"] = zero
	r["evt.latency.s"] = zero
	r["evt.latency.ns"] = zero
	r["evt.wait_latency"] = zero
	r["evt.latency.human"] = strF(func(*Env) (string, bool) { return "0ns", true })
}

// none is a field that has no value for any falcoc syscall event.
func none(vm.FieldRef) (extractor, error) { return missing, nil }

func errnoName(res int64) string {
	if n, ok := errnoNames[-res]; ok {
		return n
	}
	return event.ErrnoName(res)
}

// errnoNames caches the common errno names so that evt.res allocates
// nothing.
var errnoNames = func() map[int64]string {
	m := make(map[int64]string, 134)
	for i := int64(1); i < 134; i++ {
		m[i] = event.ErrnoName(i)
	}
	return m
}()

// openFlagF is evt.is_open_*: for the open family and creat, f of the
// Linux flags and mode; missing for other events.
func openFlagF(f func(flags, mode uint64) bool) builder {
	return boolF(func(e *Env) (bool, bool) {
		switch e.ev.Info.Name {
		case "open", "openat", "openat2", "open_by_handle_at":
			flags, ok := e.ev.Uint("flags")
			if !ok {
				return false, false
			}
			mode, _ := e.ev.Uint("mode")
			return f(flags, mode), true
		case "creat":
			mode, _ := e.ev.Uint("mode")
			return f(event.OWronly|event.OCreat|event.OTrunc, mode), true
		}
		return false, false
	})
}

// argIndex resolves an evt.arg / evt.rawarg argument: a position or a
// parameter name that some event has.
func argIndex(ref vm.FieldRef, allowIndex bool) (pos int, name string, err error) {
	if n, err := strconv.Atoi(ref.Arg); err == nil {
		if !allowIndex {
			return 0, "", fmt.Errorf("argument %q must be a parameter name", ref.Arg)
		}
		if n < 0 {
			return 0, "", fmt.Errorf("argument %q is not a non-negative index", ref.Arg)
		}
		return n, "", nil
	}
	for _, ev := range catalog.Events() {
		if _, ok := ev.Param(ref.Arg); ok {
			return -1, ref.Arg, nil
		}
	}
	return 0, "", fmt.Errorf("no event has a parameter %q", ref.Arg)
}

// paramPos finds the parameter of the current event: by position or name.
func (e *Env) paramPos(pos int, name string) (int, bool) {
	if name != "" {
		i, ok := e.ev.Info.Param(name)
		if !ok || i >= len(e.ev.Params) || !e.ev.Params[i].Set {
			return 0, false
		}
		return i, true
	}
	if pos >= len(e.ev.Params) || pos >= len(e.ev.Info.Params) || !e.ev.Params[pos].Set {
		return 0, false
	}
	return pos, true
}

func argField(ref vm.FieldRef) (extractor, error) {
	pos, name, err := argIndex(ref, true)
	if err != nil {
		return nil, err
	}
	c := &strCache{}
	return func(e *Env, v *vm.Value) bool {
		i, ok := e.paramPos(pos, name)
		if !ok {
			return false
		}
		c.buf = e.ev.AppendArg(c.buf[:0], i, e)
		return setStr(v, c.str())
	}, nil
}

func rawArgField(ref vm.FieldRef) (extractor, error) {
	pos, name, err := argIndex(ref, true)
	if err != nil {
		return nil, err
	}
	c := &strCache{}
	return func(e *Env, v *vm.Value) bool {
		i, ok := e.paramPos(pos, name)
		if !ok {
			return false
		}
		d, p := &e.ev.Info.Params[i], &e.ev.Params[i]
		switch d.Type {
		case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath, catalog.ParamFDList:
			return setStr(v, p.S)
		case catalog.ParamByteBuf, catalog.ParamCharBufArray, catalog.ParamCharBufPairArray:
			*v = vm.Value{Kind: vm.KindBytes, B: p.B}
			return true
		case catalog.ParamIPv4Addr, catalog.ParamIPv6Addr, catalog.ParamIPAddr,
			catalog.ParamIPv4Net, catalog.ParamIPv6Net, catalog.ParamIPNet:
			*v = vm.Value{Kind: vm.KindAddr, A: p.Addr.Addr()}
			return true
		case catalog.ParamSockAddr, catalog.ParamSockTuple:
			c.buf = e.ev.AppendMain(c.buf[:0], i)
			return setStr(v, c.str())
		case catalog.ParamBool:
			return setBool(v, p.U != 0)
		case catalog.ParamDouble:
			*v = vm.Value{Kind: vm.KindDouble, U: p.U}
			return true
		}
		if event.IsSigned(d.Type) {
			return setInt(v, p.I)
		}
		return setUint(v, p.U)
	}, nil
}

// pathArgs says, per event, which directory fd and path parameters form
// evt.abspath (key "") and its .src / .dst variants, and fs.path.name,
// .source and .target.
type pathSpec struct{ dirfd, path string }

var pathSpecs = map[string]map[string]pathSpec{
	"mkdir":     {"": {"", "path"}},
	"mkdirat":   {"": {"dirfd", "path"}},
	"rmdir":     {"": {"", "path"}},
	"unlink":    {"": {"", "path"}},
	"unlinkat":  {"": {"dirfd", "name"}},
	"open":      {"": {"", "name"}},
	"creat":     {"": {"", "name"}},
	"openat":    {"": {"dirfd", "name"}},
	"openat2":   {"": {"dirfd", "name"}},
	"chmod":     {"": {"", "filename"}},
	"fchmodat":  {"": {"dirfd", "filename"}},
	"chown":     {"": {"", "path"}},
	"lchown":    {"": {"", "path"}},
	"fchownat":  {"": {"dirfd", "pathname"}},
	"rename":    {"src": {"", "oldpath"}, "dst": {"", "newpath"}},
	"renameat":  {"src": {"olddirfd", "oldpath"}, "dst": {"newdirfd", "newpath"}},
	"renameat2": {"src": {"olddirfd", "oldpath"}, "dst": {"newdirfd", "newpath"}},
	"link":      {"src": {"", "oldpath"}, "dst": {"", "newpath"}},
	"linkat":    {"src": {"olddir", "oldpath"}, "dst": {"newdir", "newpath"}},
	"symlink":   {"src": {"", "target"}, "dst": {"", "linkpath"}},
	"symlinkat": {"src": {"", "target"}, "dst": {"linkdirfd", "linkpath"}},
}

// resolvePath returns the absolute path of the event's path parameter
// spec (raw: as given).
func (e *Env) resolvePath(sp pathSpec, raw bool) (string, bool) {
	p, ok := e.ev.Str(sp.path)
	if !ok {
		return "", false
	}
	if raw {
		return p, true
	}
	dirfd := int64(event.AtFDCWD)
	if sp.dirfd != "" {
		if d, ok := e.ev.Int(sp.dirfd); ok {
			dirfd = d
		}
	}
	return e.deps.Table.ResolveAt(e.ev.Tid, dirfd, p), true
}

func absPathField(ref vm.FieldRef) (extractor, error) {
	key := ref.Arg
	switch key {
	case "src", "dst":
	case "source":
		key = "src"
	case "target":
		key = "dst"
	default:
		return nil, fmt.Errorf("argument %q must be src or dst", ref.Arg)
	}
	return func(e *Env, v *vm.Value) bool {
		specs := pathSpecs[e.ev.Info.Name]
		sp, ok := specs[key]
		if !ok {
			// Single-path events: src and dst are the one path.
			sp, ok = specs[""]
		}
		if !ok {
			return false
		}
		s, ok := e.resolvePath(sp, false)
		return ok && setStr(v, s)
	}, nil
}

// noFSPath are the events of pathSpecs that evt.abspath knows but the
// fs.path.* fields do not cover.
var noFSPath = map[string]bool{
	"open": true, "creat": true, "openat": true, "openat2": true,
	"chmod": true, "fchmodat": true, "chown": true, "lchown": true, "fchownat": true,
}

func fsPathF(key string, raw bool) builder {
	return strF(func(e *Env) (string, bool) {
		if noFSPath[e.ev.Info.Name] {
			return "", false
		}
		specs := pathSpecs[e.ev.Info.Name]
		sp, ok := specs[key]
		if !ok {
			return "", false
		}
		return e.resolvePath(sp, raw)
	})
}

func fsPathFields(r map[string]builder) {
	r["fs.path.name"] = fsPathF("", false)
	r["fs.path.nameraw"] = fsPathF("", true)
	r["fs.path.source"] = fsPathF("src", false)
	r["fs.path.sourceraw"] = fsPathF("src", true)
	r["fs.path.target"] = fsPathF("dst", false)
	r["fs.path.targetraw"] = fsPathF("dst", true)
}
