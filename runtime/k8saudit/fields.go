package k8saudit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/vm"
)

// ErrUnknownField is returned by [NewEnv] for a field the catalog does not
// have.
var ErrUnknownField = errors.New("unknown field")

// EnvOptions are what the extractors read besides the event.
type EnvOptions struct {
	// ClusterName is ka.cluster.name; empty makes it missing.
	ClusterName string
	// Hostname is evt.hostname; empty makes it missing.
	Hostname string
	// Start is when the session started, ns since the epoch
	// (evt.reltime counts from it; 0: evt.reltime is 0).
	Start int64
}

// Env implements [vm.Env] over the current audit event. Fields of other
// sources (syscall fields) are always missing. An Env is not safe for
// concurrent use.
type Env struct {
	opts EnvOptions
	fns  []extractor
	ev   *Event
	num  uint64 // evt.num: events seen by this Env
}

// extractor fills v from ev or returns false when the value is missing.
type extractor func(e *Env, ev *Event, v *vm.Value) bool

// NewEnv resolves each field reference; the id passed to [Env.Extract]
// indexes fields. An unknown field, or a bad argument of a ka.* or jevt.*
// field, is an error naming the field.
func NewEnv(fields []vm.FieldRef, opts EnvOptions) (*Env, error) {
	e := &Env{opts: opts, fns: make([]extractor, len(fields))}
	for i, ref := range fields {
		fn, err := resolve(ref)
		if err != nil {
			return nil, err
		}
		e.fns[i] = fn
	}
	return e, nil
}

// Reset makes ev the current event.
func (e *Env) Reset(ev *Event) {
	e.ev = ev
	e.num++
}

// Extract fills v with field id's value for the current event; see
// [vm.Env].
func (e *Env) Extract(id int, v *vm.Value) bool {
	if e.ev == nil || id < 0 || id >= len(e.fns) {
		return false
	}
	return e.fns[id](e, e.ev, v)
}

func missing(*Env, *Event, *vm.Value) bool { return false }

func resolve(ref vm.FieldRef) (extractor, error) {
	f, _, _, ok := catalog.Lookup(ref.Name)
	if !ok {
		return nil, fmt.Errorf("field %s: %w", ref, ErrUnknownField)
	}
	if fn, ok := generic[f.Name]; ok {
		return fn, nil
	}
	if f.Source != catalog.SourceK8sAudit {
		return missing, nil // a syscall rule's field: never evaluated here
	}
	if !ref.HasArg && f.Arg.Required() {
		return nil, fmt.Errorf("field %s: an argument is required", ref)
	}
	if ref.HasArg && !f.Arg.Allowed() {
		return nil, fmt.Errorf("field %s: takes no argument", ref)
	}
	if fn, ok := plain[f.Name]; ok {
		return fn, nil
	}
	if b, ok := withArg[f.Name]; ok {
		return b(ref)
	}
	if l, ok := lists[f.Name]; ok {
		return listField(ref, l.fn, l.uint)
	}
	return nil, fmt.Errorf("field %s: no extractor", ref)
}

// Fields returns the names of the ka.* and jevt.* catalog fields this
// package extracts, sorted.
func Fields() []string {
	var out []string
	for n := range plain {
		out = append(out, n)
	}
	for n := range withArg {
		out = append(out, n)
	}
	for n := range lists {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// at walks obj along keys; nil when a step is missing or not an object.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// text renders a JSON value as a field string: strings as they are,
// numbers and booleans as written, objects and arrays as compact JSON.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func setStr(v *vm.Value, s string) bool {
	*v = vm.Value{Kind: vm.KindString, S: s}
	return true
}

// setList makes v the list l. An empty list is a missing value, as in
// Falco, where a field that yields no value fails every comparison (so
// `in` is not vacuously true).
func setList(v *vm.Value, l []string) bool {
	if len(l) == 0 {
		return false
	}
	*v = vm.Value{Kind: vm.KindList, L: l}
	return true
}

// str is a string field read at a path of the event.
func str(keys ...string) extractor {
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		s, ok := text(at(ev.root, keys...))
		return ok && setStr(v, s)
	}
}

// uintAt is an unsigned integer field read at a path of the event.
func uintAt(keys ...string) extractor {
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		u, ok := asUint(at(ev.root, keys...))
		if !ok {
			return false
		}
		*v = vm.Value{Kind: vm.KindUint, U: u}
		return true
	}
}

func asUint(x any) (uint64, bool) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	return u, err == nil
}

// resourceName is objectRef.name when objectRef.resource is res.
func resourceName(res string) extractor {
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		if r, _ := at(ev.root, "objectRef", "resource").(string); r != res {
			return false
		}
		s, ok := at(ev.root, "objectRef", "name").(string)
		return ok && setStr(v, s)
	}
}

// containers returns the pod spec's containers of the request object.
func containers(ev *Event) []map[string]any {
	l, _ := at(ev.root, "requestObject", "spec", "containers").([]any)
	out := make([]map[string]any, 0, len(l))
	for _, c := range l {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// repository is an image reference without its tag or digest.
func repository(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

// ctrBool is a container securityContext boolean, def when unset.
func ctrBool(key, def string) func(*Event) ([]string, bool) {
	return func(ev *Event) ([]string, bool) {
		cs := containers(ev)
		if len(cs) == 0 {
			return nil, false
		}
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = def
			if s, ok := text(at(c, "securityContext", key)); ok {
				out[i] = s
			}
		}
		return out, true
	}
}

// ctrID is a container runAsUser/runAsGroup; with eff, the pod's value
// applies when the container has none, and 0 (root) when neither has one.
func ctrID(key string, eff bool) func(*Event) ([]string, bool) {
	return func(ev *Event) ([]string, bool) {
		cs := containers(ev)
		if len(cs) == 0 {
			return nil, false
		}
		pod, podOK := asUint(at(ev.root, "requestObject", "spec", "securityContext", key))
		var out []string
		for _, c := range cs {
			u, ok := asUint(at(c, "securityContext", key))
			switch {
			case ok:
			case eff && podOK:
				u = pod
			case eff:
				u = 0
			default:
				continue
			}
			out = append(out, strconv.FormatUint(u, 10))
		}
		return out, len(out) > 0
	}
}

// volumes returns the pod spec's volumes of the request object.
func volumes(ev *Event) ([]map[string]any, bool) {
	l, ok := at(ev.root, "requestObject", "spec", "volumes").([]any)
	if !ok {
		return nil, false
	}
	out := make([]map[string]any, 0, len(l))
	for _, c := range l {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, true
}

// roleRules returns the rules of a Role or ClusterRole in the request.
func roleRules(ev *Event) ([]any, bool) {
	l, ok := at(ev.root, "requestObject", "rules").([]any)
	return l, ok
}

// listSpec is a list field: fn returns all its values, or false when the
// event has none; uint marks lists of unsigned integers (an element taken
// with [N] is then a number).
type listSpec struct {
	fn   func(*Event) ([]string, bool)
	uint bool
}

// listField is a list field: without an index the whole list (KindList),
// with [N] its Nth element.
func listField(ref vm.FieldRef, fn func(*Event) ([]string, bool), isUint bool) (extractor, error) {
	if !ref.HasArg {
		return func(_ *Env, ev *Event, v *vm.Value) bool {
			l, ok := fn(ev)
			return ok && setList(v, l)
		}, nil
	}
	n, err := strconv.Atoi(ref.Arg)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("field %s: argument %q is not a non-negative index", ref, ref.Arg)
	}
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		l, ok := fn(ev)
		if !ok || n >= len(l) {
			return false
		}
		if isUint {
			u, err := strconv.ParseUint(l[n], 10, 64)
			if err != nil {
				return false
			}
			*v = vm.Value{Kind: vm.KindUint, U: u}
			return true
		}
		return setStr(v, l[n])
	}, nil
}

// strList is a list of the texts at keys under each element of the list
// at base; elements without a value are skipped.
func strList(base []string, keys ...string) func(*Event) ([]string, bool) {
	return func(ev *Event) ([]string, bool) {
		l, ok := at(ev.root, base...).([]any)
		if !ok {
			return nil, false
		}
		out := make([]string, 0, len(l))
		for _, it := range l {
			if s, ok := text(at(it, keys...)); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
}

// ruleKey flattens one string list key of every role rule.
func ruleKey(key string) func(*Event) ([]string, bool) {
	return func(ev *Event) ([]string, bool) {
		rules, ok := roleRules(ev)
		if !ok {
			return nil, false
		}
		var out []string
		for _, r := range rules {
			l, _ := at(r, key).([]any)
			for _, x := range l {
				if s, ok := text(x); ok {
					out = append(out, s)
				}
			}
		}
		return out, true
	}
}

var plain = map[string]extractor{
	"ka.auditid":                    str("auditID"),
	"ka.stage":                      str("stage"),
	"ka.auth.decision":              str("annotations", "authorization.k8s.io/decision"),
	"ka.auth.reason":                str("annotations", "authorization.k8s.io/reason"),
	"ka.user.name":                  str("user", "username"),
	"ka.impuser.name":               str("impersonatedUser", "username"),
	"ka.verb":                       str("verb"),
	"ka.uri":                        str("requestURI"),
	"ka.target.name":                str("objectRef", "name"),
	"ka.target.namespace":           str("objectRef", "namespace"),
	"ka.target.resource":            str("objectRef", "resource"),
	"ka.target.subresource":         str("objectRef", "subresource"),
	"ka.target.pod.name":            resourceName("pods"),
	"ka.req.binding.role":           str("requestObject", "roleRef", "name"),
	"ka.req.configmap.name":         resourceName("configmaps"),
	"ka.req.configmap.obj":          str("requestObject", "data"),
	"ka.req.pod.host_ipc":           str("requestObject", "spec", "hostIPC"),
	"ka.req.pod.host_network":       str("requestObject", "spec", "hostNetwork"),
	"ka.req.container.host_network": str("requestObject", "spec", "hostNetwork"),
	"ka.req.pod.host_pid":           str("requestObject", "spec", "hostPID"),
	"ka.req.pod.run_as_user":        uintAt("requestObject", "spec", "securityContext", "runAsUser"),
	"ka.req.pod.run_as_group":       uintAt("requestObject", "spec", "securityContext", "runAsGroup"),
	"ka.req.pod.fs_group":           uintAt("requestObject", "spec", "securityContext", "fsGroup"),
	"ka.req.service.type":           str("requestObject", "spec", "type"),
	"ka.resp.name":                  str("responseObject", "metadata", "name"),
	"ka.response.code":              str("responseStatus", "code"),
	"ka.response.reason":            str("responseStatus", "reason"),
	"ka.useragent":                  str("userAgent"),
	"ka.cluster.name": func(e *Env, _ *Event, v *vm.Value) bool {
		return e.opts.ClusterName != "" && setStr(v, e.opts.ClusterName)
	},
	"ka.req.container.image": func(_ *Env, ev *Event, v *vm.Value) bool {
		cs := containers(ev)
		if len(cs) == 0 {
			return false
		}
		s, ok := at(cs[0], "image").(string)
		return ok && setStr(v, s)
	},
	"ka.req.container.image.repository": func(_ *Env, ev *Event, v *vm.Value) bool {
		cs := containers(ev)
		if len(cs) == 0 {
			return false
		}
		s, ok := at(cs[0], "image").(string)
		return ok && setStr(v, repository(s))
	},
	"ka.req.container.privileged": func(_ *Env, ev *Event, v *vm.Value) bool {
		cs := containers(ev)
		if len(cs) == 0 {
			return false
		}
		priv := false
		for _, c := range cs {
			if b, _ := at(c, "securityContext", "privileged").(bool); b {
				priv = true
			}
		}
		return setStr(v, strconv.FormatBool(priv))
	},
	"ka.user.groups": func(_ *Env, ev *Event, v *vm.Value) bool {
		l, ok := strList([]string{"user", "groups"})(ev)
		return ok && setList(v, l)
	},
	"ka.req.binding.subjects": func(_ *Env, ev *Event, v *vm.Value) bool {
		l, ok := strList([]string{"requestObject", "subjects"}, "name")(ev)
		return ok && setList(v, l)
	},
	"ka.req.role.rules": func(_ *Env, ev *Event, v *vm.Value) bool {
		l, ok := strList([]string{"requestObject", "rules"})(ev)
		return ok && setList(v, l)
	},
	"ka.req.pod.supplemental_groups": func(_ *Env, ev *Event, v *vm.Value) bool {
		l, ok := at(ev.root, "requestObject", "spec", "securityContext", "supplementalGroups").([]any)
		if !ok {
			return false
		}
		out := make([]string, 0, len(l))
		for _, x := range l {
			if u, ok := asUint(x); ok {
				out = append(out, strconv.FormatUint(u, 10))
			}
		}
		return setList(v, out)
	},
	"jevt.time": func(_ *Env, ev *Event, v *vm.Value) bool {
		return setStr(v, time.Unix(0, ev.Time).UTC().Format("15:04:05.000000000"))
	},
	"jevt.time.iso8601": func(_ *Env, ev *Event, v *vm.Value) bool {
		return setStr(v, time.Unix(0, ev.Time).UTC().Format("2006-01-02T15:04:05.000000000Z"))
	},
	"jevt.rawtime": func(_ *Env, ev *Event, v *vm.Value) bool {
		if ev.Time < 0 {
			return false
		}
		*v = vm.Value{Kind: vm.KindUint, U: uint64(ev.Time)}
		return true
	},
	"jevt.obj": func(_ *Env, ev *Event, v *vm.Value) bool {
		return setStr(v, string(ev.Raw))
	},
}

var withArg = map[string]func(vm.FieldRef) (extractor, error){
	"ka.uri.param": func(ref vm.FieldRef) (extractor, error) {
		name := ref.Arg
		return func(_ *Env, ev *Event, v *vm.Value) bool {
			uri, ok := at(ev.root, "requestURI").(string)
			if !ok {
				return false
			}
			u, err := url.ParseRequestURI(uri)
			if err != nil {
				return false
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				return false
			}
			vals, ok := q[name]
			if !ok || len(vals) == 0 {
				return false
			}
			return setStr(v, vals[0])
		}, nil
	},
	"ka.req.binding.subject.has_name": func(ref vm.FieldRef) (extractor, error) {
		name := ref.Arg
		return func(_ *Env, ev *Event, v *vm.Value) bool {
			l, ok := strList([]string{"requestObject", "subjects"}, "name")(ev)
			if !ok {
				return false
			}
			has := false
			for _, s := range l {
				if s == name {
					has = true
				}
			}
			return setStr(v, strconv.FormatBool(has))
		}, nil
	},
	"jevt.value": func(ref vm.FieldRef) (extractor, error) {
		ptr, err := parsePointer(ref.Arg)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", ref, err)
		}
		return func(_ *Env, ev *Event, v *vm.Value) bool {
			s, ok := text(pointer(ev.root, ptr))
			return ok && setStr(v, s)
		}, nil
	},
}

// parsePointer splits a JSON pointer (RFC 6901) into its unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("argument %q is not a JSON pointer (it must start with /)", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// pointer follows a parsed JSON pointer through objects and arrays.
func pointer(v any, toks []string) any {
	for _, t := range toks {
		switch x := v.(type) {
		case map[string]any:
			v = x[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

var lists = map[string]listSpec{
	"ka.req.pod.containers.image": {fn: strList([]string{"requestObject", "spec", "containers"}, "image")},
	"ka.req.pod.containers.image.repository": {fn: func(ev *Event) ([]string, bool) {
		l, ok := strList([]string{"requestObject", "spec", "containers"}, "image")(ev)
		for i, s := range l {
			l[i] = repository(s)
		}
		return l, ok
	}},
	"ka.req.pod.containers.host_port": {fn: func(ev *Event) ([]string, bool) {
		cs := containers(ev)
		if len(cs) == 0 {
			return nil, false
		}
		var out []string
		for _, c := range cs {
			ports, _ := c["ports"].([]any)
			for _, p := range ports {
				if s, ok := text(at(p, "hostPort")); ok {
					out = append(out, s)
				}
			}
		}
		return out, true
	}},
	"ka.req.pod.containers.privileged":                 {fn: ctrBool("privileged", "false")},
	"ka.req.pod.containers.allow_privilege_escalation": {fn: ctrBool("allowPrivilegeEscalation", "true")},
	"ka.req.pod.containers.read_only_fs":               {fn: ctrBool("readOnlyRootFilesystem", "false")},
	"ka.req.pod.containers.proc_mount":                 {fn: ctrBool("procMount", "Default")},
	"ka.req.pod.containers.run_as_user":                {fn: ctrID("runAsUser", false), uint: true},
	"ka.req.pod.containers.eff_run_as_user":            {fn: ctrID("runAsUser", true), uint: true},
	"ka.req.pod.containers.run_as_group":               {fn: ctrID("runAsGroup", false), uint: true},
	"ka.req.pod.containers.eff_run_as_group":           {fn: ctrID("runAsGroup", true), uint: true},
	"ka.req.pod.containers.add_capabilities": {fn: func(ev *Event) ([]string, bool) {
		cs := containers(ev)
		if len(cs) == 0 {
			return nil, false
		}
		var out []string
		for _, c := range cs {
			caps, _ := at(c, "securityContext", "capabilities", "add").([]any)
			for _, x := range caps {
				if s, ok := text(x); ok {
					out = append(out, s)
				}
			}
		}
		return out, true
	}},
	"ka.req.role.rules.apiGroups":       {fn: ruleKey("apiGroups")},
	"ka.req.role.rules.nonResourceURLs": {fn: ruleKey("nonResourceURLs")},
	"ka.req.role.rules.verbs":           {fn: ruleKey("verbs")},
	"ka.req.role.rules.resources":       {fn: ruleKey("resources")},
	"ka.req.service.ports":              {fn: strList([]string{"requestObject", "spec", "ports"})},
	"ka.req.pod.volumes.hostpath": {fn: func(ev *Event) ([]string, bool) {
		vs, ok := volumes(ev)
		if !ok {
			return nil, false
		}
		var out []string
		for _, v := range vs {
			if s, ok := at(v, "hostPath", "path").(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}},
	"ka.req.pod.volumes.flexvolume_driver": {fn: func(ev *Event) ([]string, bool) {
		vs, ok := volumes(ev)
		if !ok {
			return nil, false
		}
		var out []string
		for _, v := range vs {
			if s, ok := at(v, "flexVolume", "driver").(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}},
	"ka.req.pod.volumes.volume_type": {fn: func(ev *Event) ([]string, bool) {
		vs, ok := volumes(ev)
		if !ok {
			return nil, false
		}
		var out []string
		for _, v := range vs {
			kind := "" // the volume source: the one key besides name
			for k := range v {
				if k != "name" && (kind == "" || k < kind) {
					kind = k
				}
			}
			if kind != "" {
				out = append(out, kind)
			}
		}
		return out, true
	}},
	"ka.sourceips": {fn: strList([]string{"sourceIPs"})},
}
