package extract

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Mount is one container mount.
type Mount struct {
	Source, Dest string
	Mode         string
	RW           bool
	Propagation  string
}

// Container is the metadata of a container, as a container runtime
// reports it. Empty strings are missing values.
type Container struct {
	ID, FullID      string
	Name            string
	Type            string
	Image           string
	ImageID         string
	ImageRepository string
	ImageTag        string
	ImageDigest     string
	Privileged      bool
	Mounts          []Mount
	Labels          map[string]string
	IP              string
	CNIJSON         string
	HostPID         bool
	HostNetwork     bool
	HostIPC         bool
	StartTS         int64 // ns since the epoch, 0 when unknown
	HealthCheck     string
	LivenessProbe   string
	ReadinessProbe  string
	PodName         string
	PodNamespace    string
	PodUID          string
	PodSandboxID    string // full id
	PodLabels       map[string]string
	PodIP           string
	PodCNIJSON      string
}

// ContainerLookup gives container metadata by container id (the 12
// character container.id, or a containerd name). It returns false while
// the metadata is unknown (not fetched yet, or no runtime answered): the
// fields that need it are then missing. Implementations must not block.
type ContainerLookup interface {
	Container(id string) (*Container, bool)
}

// Deps are what the extractors read besides the event.
type Deps struct {
	// Table is the process and descriptor state. Required.
	Table *state.Table
	// Users resolves user and group names; nil makes them missing.
	Users *state.Users
	// Containers gives container metadata; nil makes it missing.
	Containers ContainerLookup
	// Hostname is evt.hostname.
	Hostname string
	// LocalAddrs are the machine's addresses, which orient fd.lip,
	// fd.lport and the like as Falco does; nil takes the socket's own end
	// as local (replays).
	LocalAddrs *LocalAddrs
	// Start is when the capture started, ns since the epoch
	// (evt.reltime counts from it).
	Start int64
}

// ErrUnknownField is returned by [New] for a field the catalog does not
// have. Fields of other sources (ka.*, jevt.*) resolve to always-missing
// extractors: the syscall engine never evaluates rules that use them.
var ErrUnknownField = errors.New("unknown field")

// extractor fills v for the current event or returns false.
type extractor func(e *Env, v *vm.Value) bool

// builder makes the extractor of one field reference; it validates the
// argument.
type builder func(ref vm.FieldRef) (extractor, error)

// Env implements [vm.Env] over the current event and the state.
type Env struct {
	deps Deps
	fns  []extractor

	ev     *event.Event
	prevTs int64
	lastTs int64

	thDone  bool
	th      *state.Thread
	fdDone  bool
	fd      *state.FD
	fdNum   int64
	fdHas   bool
	tmpFD   state.FD
	ctrDone bool
	ctr     *Container
}

// New resolves each field reference to its extractor. The id passed to
// [Env.Extract] indexes fields. A field the catalog does not know, or
// whose argument is invalid, is an error naming the field.
func New(fields []vm.FieldRef, deps Deps) (*Env, error) {
	if deps.Table == nil {
		return nil, errors.New("extract: no state table")
	}
	e := &Env{deps: deps, fns: make([]extractor, len(fields))}
	for i, ref := range fields {
		fn, err := resolve(ref)
		if err != nil {
			return nil, err
		}
		e.fns[i] = fn
	}
	return e, nil
}

func resolve(ref vm.FieldRef) (extractor, error) {
	f, _, _, ok := catalog.Lookup(ref.Name)
	if !ok {
		return nil, fmt.Errorf("field %s: %w", ref, ErrUnknownField)
	}
	if f.Source != catalog.SourceSyscall {
		// A rule of another source (k8s_audit) shares the artifact's field
		// table; the syscall engine never runs it, and its own source
		// extracts these fields. Here they are always missing.
		return missing, nil
	}
	if !ref.HasArg && f.Arg.Required() {
		return nil, fmt.Errorf("field %s: an argument is required", ref)
	}
	if ref.HasArg && !f.Arg.Allowed() {
		return nil, fmt.Errorf("field %s: takes no argument", ref)
	}
	b, ok := registry[f.Name]
	if !ok {
		if _, unsup := unsupported[f.Name]; unsup {
			return missing, nil
		}
		return nil, fmt.Errorf("field %s: no extractor", ref)
	}
	fn, err := b(ref)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", ref, err)
	}
	return fn, nil
}

// Unsupported reports whether falcoc has no real extractor for the
// catalog field name (it is always missing) and why.
func Unsupported(name string) (reason string, ok bool) {
	reason, ok = unsupported[name]
	return reason, ok
}

// Reset makes ev the current event. Call it once per event, after
// [state.ApplyBefore].
func (e *Env) Reset(ev *event.Event) {
	if e.ev == nil {
		e.lastTs = ev.Ts
	}
	e.prevTs = e.lastTs
	e.ev = ev
	e.lastTs = ev.Ts
	e.thDone, e.th = false, nil
	e.fdDone, e.fd, e.fdHas = false, nil, false
	e.ctrDone, e.ctr = false, nil
}

// Extract fills v with field id's value for the current event; see
// [vm.Env].
func (e *Env) Extract(id int, v *vm.Value) bool {
	if e.ev == nil || e.ev.Info == nil || id < 0 || id >= len(e.fns) {
		return false
	}
	return e.fns[id](e, v)
}

// Event returns the current event.
func (e *Env) Event() *event.Event { return e.ev }

// thread returns the event's thread, or nil.
func (e *Env) thread() *state.Thread {
	if !e.thDone {
		e.thDone = true
		e.th = e.deps.Table.Lookup(e.ev.Tid)
	}
	return e.th
}

// FD implements [event.Resolver].
func (e *Env) FD(tid, fd int64) (byte, string, bool) {
	f := e.deps.Table.FD(tid, fd)
	if f == nil {
		return 0, "", false
	}
	return f.Type.Char(), f.Name(), true
}

// Comm implements [event.Resolver].
func (e *Env) Comm(tid int64) (string, bool) {
	th := e.deps.Table.Get(tid)
	if th == nil {
		return "", false
	}
	return th.Comm(), true
}

func missing(*Env, *vm.Value) bool { return false }

// strCache turns rendered bytes into a string, allocating only when the
// text differs from the previous one.
type strCache struct {
	buf []byte
	s   string
}

func (c *strCache) str() string {
	if string(c.buf) != c.s {
		c.s = string(c.buf)
	}
	return c.s
}

func setStr(v *vm.Value, s string) bool {
	*v = vm.Value{Kind: vm.KindString, S: s}
	return true
}

func setInt(v *vm.Value, i int64) bool {
	*v = vm.Value{Kind: vm.KindInt, I: i}
	return true
}

func setUint(v *vm.Value, u uint64) bool {
	*v = vm.Value{Kind: vm.KindUint, U: u}
	return true
}

func setBool(v *vm.Value, b bool) bool {
	v.SetBool(b)
	return true
}

// Builders for fields without arguments.

func strF(f func(e *Env) (string, bool)) builder {
	return func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			s, ok := f(e)
			return ok && setStr(v, s)
		}, nil
	}
}

func intF(f func(e *Env) (int64, bool)) builder {
	return func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			n, ok := f(e)
			return ok && setInt(v, n)
		}, nil
	}
}

func uintF(f func(e *Env) (uint64, bool)) builder {
	return func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			n, ok := f(e)
			return ok && setUint(v, n)
		}, nil
	}
}

func boolF(f func(e *Env) (bool, bool)) builder {
	return func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			b, ok := f(e)
			return ok && setBool(v, b)
		}, nil
	}
}

// renderF is a string field rendered into a per-field buffer.
func renderF(f func(e *Env, dst []byte) ([]byte, bool)) builder {
	return func(vm.FieldRef) (extractor, error) {
		c := &strCache{}
		return func(e *Env, v *vm.Value) bool {
			b, ok := f(e, c.buf[:0])
			c.buf = b
			return ok && setStr(v, c.str())
		}, nil
	}
}

// thStr and friends read the event's thread.
func thStr(f func(th *state.Thread) string) builder {
	return strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil {
			return "", false
		}
		return f(th), true
	})
}

func thInt(f func(th *state.Thread) int64) builder {
	return intF(func(e *Env) (int64, bool) {
		th := e.thread()
		if th == nil {
			return 0, false
		}
		return f(th), true
	})
}

func thUint(f func(th *state.Thread) uint64) builder {
	return uintF(func(e *Env) (uint64, bool) {
		th := e.thread()
		if th == nil {
			return 0, false
		}
		return f(th), true
	})
}

func thBool(f func(th *state.Thread) bool) builder {
	return boolF(func(e *Env) (bool, bool) {
		th := e.thread()
		if th == nil {
			return false, false
		}
		return f(th), true
	})
}

// index parses a field's index argument; -1 when there is none.
func index(ref vm.FieldRef) (int, error) {
	if !ref.HasArg {
		return -1, nil
	}
	n, err := strconv.Atoi(ref.Arg)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("argument %q is not a non-negative index", ref.Arg)
	}
	return n, nil
}
