package k8saudit

import (
	"time"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/vm"
)

// PluginName is evt.pluginname of audit events: the name of the Falco
// plugin whose source falcoc provides.
const PluginName = "k8saudit"

func localTime(layout string) extractor {
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		return setStr(v, time.Unix(0, ev.Time).Format(layout))
	}
}

func uintOf(f func(e *Env, ev *Event) uint64) extractor {
	return func(e *Env, ev *Event, v *vm.Value) bool {
		*v = vm.Value{Kind: vm.KindUint, U: f(e, ev)}
		return true
	}
}

func rawTime(ev *Event) uint64 {
	if ev.Time < 0 {
		return 0
	}
	return uint64(ev.Time)
}

func relTime(e *Env, ev *Event) uint64 {
	if e.opts.Start == 0 || ev.Time < e.opts.Start {
		return 0
	}
	return uint64(ev.Time - e.opts.Start)
}

// generic are the evt.* fields every source has (Falco's generic event
// fields), as they apply to audit events.
var generic = map[string]extractor{
	"evt.num":        uintOf(func(e *Env, _ *Event) uint64 { return e.num }),
	"evt.time":       localTime("15:04:05.000000000"),
	"evt.time.s":     localTime("15:04:05"),
	"evt.datetime":   localTime("2006-01-02 15:04:05.000000000"),
	"evt.datetime.s": localTime("2006-01-02 15:04:05"),
	"evt.rawtime":    uintOf(func(_ *Env, ev *Event) uint64 { return rawTime(ev) }),
	"evt.rawtime.s":  uintOf(func(_ *Env, ev *Event) uint64 { return rawTime(ev) / 1e9 }),
	"evt.rawtime.ns": uintOf(func(_ *Env, ev *Event) uint64 { return rawTime(ev) % 1e9 }),
	"evt.reltime":    uintOf(relTime),
	"evt.reltime.s":  uintOf(func(e *Env, ev *Event) uint64 { return relTime(e, ev) / 1e9 }),
	"evt.reltime.ns": uintOf(func(e *Env, ev *Event) uint64 { return relTime(e, ev) % 1e9 }),
	"evt.pluginname": func(_ *Env, _ *Event, v *vm.Value) bool { return setStr(v, PluginName) },
	"evt.plugininfo": missing,
	"evt.source":     func(_ *Env, _ *Event, v *vm.Value) bool { return setStr(v, catalog.SourceK8sAudit) },
	"evt.is_async":   func(_ *Env, _ *Event, v *vm.Value) bool { v.SetBool(false); return true },
	"evt.asynctype":  missing,
	"evt.hostname": func(e *Env, _ *Event, v *vm.Value) bool {
		return e.opts.Hostname != "" && setStr(v, e.opts.Hostname)
	},
	"evt.time.iso8601": func(_ *Env, ev *Event, v *vm.Value) bool {
		return setStr(v, time.Unix(0, ev.Time).UTC().Format("2006-01-02T15:04:05.000000000")+"+0000")
	},
}
