package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/vm"
)

// ErrUnknownField is returned by [NewEnv] for a field the catalog does not
// have.
var ErrUnknownField = errors.New("unknown field")

// EnvOptions are what the extractors read besides the event.
type EnvOptions struct {
	// Hostname is evt.hostname; empty makes it missing.
	Hostname string
	// Start is when the session started, ns since the epoch
	// (evt.reltime counts from it; 0: evt.reltime is 0).
	Start int64
	// Corrected gives ka.sourceips, ka.req.pod.*.eff_run_as_user/group
	// and ka.req.binding.subject.has_name the meaning their descriptions
	// state instead of the k8saudit plugin's values (see the package
	// documentation). false: as the plugin.
	Corrected bool
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
// indexes fields. An unknown field, or a bad argument of a ka.*, jevt.*
// or json.* field, is an error naming the field.
func NewEnv(fields []vm.FieldRef, opts EnvOptions) (*Env, error) {
	e := &Env{opts: opts, fns: make([]extractor, len(fields))}
	for i, ref := range fields {
		fn, err := resolve(ref, opts.Corrected)
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

// field is how one ka.* field is read: scalar fields fill a string,
// list fields return their values (none: missing). idx is the [N]
// argument, or noIndex.
type field struct {
	str  func(root *node, arg string) (string, bool)
	list func(root *node, idx int) []string
}

const noIndex = -1

func resolve(ref vm.FieldRef, corrected bool) (extractor, error) {
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
	if b, ok := jsonFields[f.Name]; ok {
		return b(ref)
	}
	fd, ok := kaField(f.Name, corrected)
	if !ok {
		return nil, fmt.Errorf("field %s: no extractor", ref)
	}
	if fd.str != nil {
		arg := ref.Arg
		return func(_ *Env, ev *Event, v *vm.Value) bool {
			if ev.root.get("auditID") == nil { // not an audit event: no ka.* field
				return false
			}
			s, ok := fd.str(ev.root, arg)
			return ok && setStr(v, s)
		}, nil
	}
	idx := noIndex
	if ref.HasArg {
		n, err := strconv.Atoi(ref.Arg)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("field %s: argument %q is not a non-negative index", ref, ref.Arg)
		}
		idx = n
	}
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		if ev.root.get("auditID") == nil {
			return false
		}
		return setList(v, fd.list(ev.root, idx))
	}, nil
}

// kaField returns the reader of a ka.* field.
func kaField(name string, corrected bool) (field, bool) {
	if corrected {
		if fd, ok := correctedFields[name]; ok {
			return fd, true
		}
		for _, l := range containerLists {
			switch strings.TrimPrefix(name, "ka.req.pod."+l+".") {
			case "eff_run_as_user":
				return field{list: effID(l, "runAsUser", true)}, true
			case "eff_run_as_group":
				return field{list: effID(l, "runAsGroup", true)}, true
			}
		}
	}
	if fd, ok := kaFields[name]; ok {
		return fd, true
	}
	for _, l := range containerLists {
		if sub, ok := strings.CutPrefix(name, "ka.req.pod."+l+"."); ok {
			if fn, ok := containerFields(l, sub); ok {
				return field{list: fn}, true
			}
		}
	}
	return field{}, false
}

// Fields returns the names of the ka.*, jevt.* and json.* fields this
// package extracts, sorted.
func Fields() []string {
	var out []string
	for n := range kaFields {
		out = append(out, n)
	}
	for n := range jsonFields {
		out = append(out, n)
	}
	for _, l := range containerLists {
		for _, sub := range containerSubs {
			if _, ok := containerFields(l, sub); ok {
				out = append(out, "ka.req.pod."+l+"."+sub)
			}
		}
	}
	slices.Sort(out)
	return out
}

// containerSubs are the ka.req.pod.<list>.* fields (host_port not for
// ephemeral containers).
var containerSubs = [...]string{"name", "image", "image.repository", "command", "args", "privileged",
	"allow_privilege_escalation", "read_only_fs", "run_as_user", "eff_run_as_user", "run_as_group",
	"eff_run_as_group", "proc_mount", "add_capabilities", "host_port"}

func setStr(v *vm.Value, s string) bool {
	*v = vm.Value{Kind: vm.KindString, S: s}
	return true
}

// setList makes v the list l. An empty list is a missing value, as in
// Falco, where a plugin field that yields no value fails every comparison
// (so `in` is not vacuously true).
func setList(v *vm.Value, l []string) bool {
	if len(l) == 0 {
		return false
	}
	*v = vm.Value{Kind: vm.KindList, L: l}
	return true
}

// walk follows keys from n as the plugin does (its getValuesRecursive)
// and appends what it finds to dst: an array met on the way is entered
// element by element (each element gives one value, nil when the rest of
// the path is missing in it), or, with idx >= 0, only at element idx. An
// empty key stays on the value. ok is false when the path is missing.
// Callers pass a small array on their stack as dst.
func walk(dst []*node, n *node, idx int, keys []string) (vals []*node, ok bool) {
	for i, k := range keys {
		if n.k == kArray {
			if idx == noIndex {
				for _, el := range n.vals {
					before := len(dst)
					if dst, ok = walk(dst, el, idx, keys[i:]); !ok {
						dst = append(dst[:before], nil)
					}
				}
				return dst, true
			}
			if idx >= len(n.vals) {
				return dst, false
			}
			n = n.vals[idx]
		}
		if k != "" {
			n = n.get(k)
		}
		if n == nil {
			return dst, false
		}
	}
	return append(dst, n), true
}

// scratch is the stack room for the values one walk finds.
type scratch [16]*node

// path joins path pieces into one slice, once, when a field is resolved.
func path(parts ...[]string) []string {
	var p []string
	for _, x := range parts {
		p = append(p, x...)
	}
	return p
}

// texts renders values, skipping missing ones.
func texts(vals []*node) []string {
	var out []string
	for _, v := range vals {
		if s, ok := v.text(); ok {
			out = append(out, s)
		}
	}
	return out
}

// allTexts renders values; ok is false when one is missing (the plugin
// then fails the extraction: the field is missing).
func allTexts(vals []*node) ([]string, bool) {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		s, ok := v.text()
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// str is a scalar field at a path.
func str(keys ...string) field {
	return field{str: func(root *node, _ string) (string, bool) { return root.at(keys...).text() }}
}

// strList is a list field: the array at a path, one text per element.
// A value that is not an array is missing.
func strList(keys ...string) field {
	return field{list: func(root *node, _ int) []string {
		n := root.at(keys...)
		if n == nil || n.k != kArray {
			return nil
		}
		l, _ := allTexts(n.vals)
		return l
	}}
}

// walked is a list field: the values at a path, walked as [walk] does,
// missing ones skipped.
func walked(keys ...string) field {
	return field{list: func(root *node, idx int) []string {
		var buf scratch
		vals, _ := walk(buf[:0], root, idx, keys)
		return texts(vals)
	}}
}

// ruleKey is ka.req.role.rules.<key>: the elements of every rule's key
// (the rule's with an index).
func ruleKey(keys ...string) field {
	p := path([]string{"requestObject", "rules"}, keys)
	return field{list: func(root *node, idx int) []string {
		var buf scratch
		vals, _ := walk(buf[:0], root, idx, p)
		var out []string
		for _, v := range vals {
			if v != nil && v.k == kArray {
				out = append(out, texts(v.vals)...)
			}
		}
		return out
	}}
}

// subjectNames are the names of a binding's subjects of one kind; for
// "NamespacedServiceAccount", service accounts as namespace:name.
func subjectNames(kind string) field {
	return field{list: func(root *node, _ int) []string {
		subs := root.at("requestObject", "subjects")
		if subs == nil || subs.k != kArray {
			return nil
		}
		nsName := kind == "NamespacedServiceAccount"
		want := kind
		if nsName {
			want = "ServiceAccount"
		}
		var out []string
		for _, s := range subs.vals {
			k, okK := s.get("kind").text()
			name, okN := s.get("name").text()
			if !okK || !okN || k != want {
				continue
			}
			if nsName {
				ns, ok := s.get("namespace").text()
				if !ok {
					continue
				}
				name = ns + ":" + name
			}
			out = append(out, name)
		}
		return out
	}}
}

// containerLists are the pod's container lists that have ka.req.pod.<list>.* fields.
var containerLists = [...]string{"containers", "initContainers", "ephemeralContainers"}

// ctrPath is the path of keys under each container of list.
func ctrPath(list string, keys ...string) []string {
	return path([]string{"requestObject", "spec", list}, keys)
}

// images are the containers' images; nil when one has none (the plugin
// then fails the extraction).
func images(root *node, list string, idx int) []string {
	var buf scratch
	vals, ok := walk(buf[:0], root, idx, imagePaths[list])
	if !ok {
		return nil
	}
	l, _ := allTexts(vals)
	return l
}

// imagePaths are the image paths of each container list.
var imagePaths = map[string][]string{
	"containers":          ctrPath("containers", "image"),
	"initContainers":      ctrPath("initContainers", "image"),
	"ephemeralContainers": ctrPath("ephemeralContainers", "image"),
}

// repository cuts an image reference as the plugin does: before the first
// ':' and then before the first '@' ("registry:5000/app:1" gives
// "registry").
func repository(image string) string {
	image, _, _ = strings.Cut(image, ":")
	image, _, _ = strings.Cut(image, "@")
	return image
}

// joined is the containers' command or args, each container's words
// joined by spaces; a container without one is skipped, and a value that
// is not a list of strings makes the field missing.
func joined(root *node, p []string, idx int) []string {
	var buf scratch
	vals, ok := walk(buf[:0], root, idx, p)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range vals {
		if v == nil {
			continue
		}
		if v.k != kArray {
			return nil
		}
		words := make([]string, len(v.vals))
		for i, w := range v.vals {
			if w.k != kString {
				return nil
			}
			words[i] = w.s
		}
		out = append(out, strings.Join(words, " "))
	}
	return out
}

// hostPorts are the containers' ports' hostPort, or containerPort when a
// port has no hostPort (with hostNetwork the two are the same).
func hostPorts(root *node, p []string, idx int) []string {
	var buf scratch
	vals, ok := walk(buf[:0], root, idx, p)
	if !ok {
		return nil
	}
	var out []string
	for _, ports := range vals {
		if ports == nil {
			continue
		}
		if ports.k != kArray {
			return nil
		}
		for _, p := range ports.vals {
			if s, ok := p.get("hostPort").text(); ok {
				out = append(out, s)
			} else if s, ok := p.get("containerPort").text(); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// effID is eff_run_as_user/group: each container's id, else the pod's,
// else "0". The plugin reads the container's id at <container>.<key> and
// the pod's at spec.<key>, where Kubernetes has neither (they are under
// securityContext), so its value is "0" for every container of a real
// pod; corrected reads securityContext.<key> in both places. With an
// index the plugin's value is missing when the container lacks the key;
// corrected gives that container's effective id.
func effID(list, key string, corrected bool) func(*node, int) []string {
	podPath := []string{"requestObject", "spec", key}
	cp := ctrPath(list, key)
	if corrected {
		podPath = []string{"requestObject", "spec", "securityContext", key}
		cp = ctrPath(list, "securityContext", key)
	}
	return func(root *node, idx int) []string {
		walkIdx := idx
		if corrected {
			walkIdx = noIndex
		}
		pod := "0"
		if s, ok := root.at(podPath...).text(); ok {
			pod = s
		}
		var buf scratch
		vals, ok := walk(buf[:0], root, walkIdx, cp)
		if !ok {
			return nil
		}
		if walkIdx != idx { // corrected, with an index
			if idx >= len(vals) {
				return nil
			}
			vals = vals[idx : idx+1]
		}
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = pod
			if s, ok := v.text(); ok {
				out[i] = s
			}
		}
		return out
	}
}

// containerFields are the ka.req.pod.<list>.<sub> fields.
func containerFields(list, sub string) (func(*node, int) []string, bool) {
	sc := func(keys ...string) func(*node, int) []string {
		p := ctrPath(list, append([]string{"securityContext"}, keys...)...)
		return func(root *node, idx int) []string {
			var buf scratch
			vals, _ := walk(buf[:0], root, idx, p)
			return texts(vals)
		}
	}
	switch sub {
	case "name":
		p := ctrPath(list, "name")
		return func(root *node, idx int) []string {
			var buf scratch
			vals, ok := walk(buf[:0], root, idx, p)
			if !ok {
				return nil
			}
			l, _ := allTexts(vals)
			return l
		}, true
	case "image":
		return func(root *node, idx int) []string { return images(root, list, idx) }, true
	case "image.repository":
		return func(root *node, idx int) []string {
			l := images(root, list, idx)
			for i, s := range l {
				l[i] = repository(s)
			}
			return l
		}, true
	case "command", "args":
		p := ctrPath(list, sub)
		return func(root *node, idx int) []string { return joined(root, p, idx) }, true
	case "host_port":
		if list == "ephemeralContainers" {
			return nil, false // ephemeral containers have no ports
		}
		p := ctrPath(list, "ports")
		return func(root *node, idx int) []string { return hostPorts(root, p, idx) }, true
	case "privileged":
		return sc("privileged"), true
	case "allow_privilege_escalation":
		return sc("allowPrivilegeEscalation"), true
	case "read_only_fs":
		return sc("readOnlyRootFilesystem"), true
	case "run_as_user":
		return sc("runAsUser"), true
	case "run_as_group":
		return sc("runAsGroup"), true
	case "proc_mount":
		return sc("procMount"), true
	case "add_capabilities":
		return sc("capabilities", "add"), true
	case "eff_run_as_user":
		return effID(list, "runAsUser", false), true
	case "eff_run_as_group":
		return effID(list, "runAsGroup", false), true
	}
	return nil, false
}

// firstContainer is ka.req.container.image(.repository): the first
// container's value.
func firstContainer(repo bool) field {
	return field{str: func(root *node, _ string) (string, bool) {
		l := images(root, "containers", 0)
		if len(l) == 0 {
			return "", false
		}
		if repo {
			return repository(l[0]), true
		}
		return l[0], true
	}}
}

var kaFields = map[string]field{
	"ka.auditid":                              str("auditID"),
	"ka.stage":                                str("stage"),
	"ka.auth.decision":                        str("annotations", "authorization.k8s.io/decision"),
	"ka.auth.reason":                          str("annotations", "authorization.k8s.io/reason"),
	"ka.auth.openshift.decision":              str("annotations", "authentication.openshift.io/decision"),
	"ka.auth.openshift.username":              str("annotations", "authentication.openshift.io/username"),
	"ka.validations.admission.policy.failure": str("annotations", "validation.policy.admission.k8s.io/validation_failure"),
	"ka.security.pod.violations":              str("annotations", "pod-security.kubernetes.io/audit-violations"),
	"ka.user.name":                            str("user", "username"),
	"ka.user.groups":                          strList("user", "groups"),
	"ka.impuser.name":                         str("impersonatedUser", "username"),
	"ka.verb":                                 str("verb"),
	"ka.uri":                                  str("requestURI"),
	"ka.uri.param": {str: func(root *node, arg string) (string, bool) {
		uri, ok := root.get("requestURI").text()
		if !ok {
			return "", false
		}
		u, err := url.Parse(uri)
		if err != nil {
			return "", false
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(q[arg]) == 0 {
			return "", false
		}
		return q[arg][0], true
	}},
	"ka.target.name":        str("objectRef", "name"),
	"ka.target.namespace":   str("objectRef", "namespace"),
	"ka.target.resource":    str("objectRef", "resource"),
	"ka.target.subresource": str("objectRef", "subresource"),
	// The pod's name on a request on pods themselves (no subresource),
	// from the response.
	"ka.target.pod.name": {str: func(root *node, _ string) (string, bool) {
		if r := root.at("objectRef", "resource"); r == nil || r.k != kString || r.s != "pods" {
			return "", false
		}
		if sr := root.at("objectRef", "subresource"); sr != nil && sr.k == kString && sr.s != "" {
			return "", false
		}
		return root.at("responseObject", "metadata", "name").text()
	}},
	"ka.req.binding.subjects":                         strList("requestObject", "subjects"),
	"ka.req.binding.subjects.user_names":              subjectNames("User"),
	"ka.req.binding.subjects.serviceaccount_names":    subjectNames("ServiceAccount"),
	"ka.req.binding.subjects.serviceaccount_ns_names": subjectNames("NamespacedServiceAccount"),
	"ka.req.binding.subjects.group_names":             subjectNames("Group"),
	"ka.req.binding.role":                             str("requestObject", "roleRef", "name"),
	// Documented as deprecated and "N/A"; the plugin gives "true".
	"ka.req.binding.subject.has_name":   {str: func(*node, string) (string, bool) { return "true", true }},
	"ka.req.configmap.name":             str("objectRef", "name"),
	"ka.req.configmap.obj":              str("requestObject", "data"),
	"ka.req.container.image":            firstContainer(false),
	"ka.req.container.image.repository": firstContainer(true),
	"ka.req.pod.host_ipc":               str("requestObject", "spec", "hostIPC"),
	"ka.req.pod.host_network":           str("requestObject", "spec", "hostNetwork"),
	"ka.req.container.host_network":     str("requestObject", "spec", "hostNetwork"),
	"ka.req.pod.host_pid":               str("requestObject", "spec", "hostPID"),
	"ka.req.container.privileged": {str: func(root *node, _ string) (string, bool) {
		var buf scratch
		vals, ok := walk(buf[:0], root, noIndex, privilegedPath)
		if !ok {
			return "", false
		}
		for _, v := range vals {
			if v != nil && v.k == kBool && v.raw == "true" {
				return "true", true
			}
		}
		return "false", true
	}},
	"ka.req.pod.run_as_user":               str("requestObject", "spec", "securityContext", "runAsUser"),
	"ka.req.pod.run_as_group":              str("requestObject", "spec", "securityContext", "runAsGroup"),
	"ka.req.role.rules":                    strList("requestObject", "rules"),
	"ka.req.role.rules.apiGroups":          ruleKey("apiGroups"),
	"ka.req.role.rules.nonResourceURLs":    ruleKey("nonResourceURLs"),
	"ka.req.role.rules.verbs":              ruleKey("verbs"),
	"ka.req.role.rules.resources":          ruleKey("resources"),
	"ka.req.pod.fs_group":                  str("requestObject", "spec", "securityContext", "fsGroup"),
	"ka.req.pod.supplemental_groups":       strList("requestObject", "spec", "securityContext", "supplementalGroups"),
	"ka.req.service.type":                  str("requestObject", "spec", "type"),
	"ka.req.service.ports":                 walked("requestObject", "spec", "ports"),
	"ka.req.pod.volumes.hostpath":          walked("requestObject", "spec", "volumes", "hostPath", "path"),
	"ka.req.pod.volumes.flexvolume_driver": walked("requestObject", "spec", "volumes", "flexVolume", "driver"),
	// "true" when a volume's hostPath is the argument (or starts with it,
	// for an argument ending in '*'). The plugin passes the argument's
	// index (0 for a key) as an index: only the first volume is looked at.
	"ka.req.volume.hostpath": {str: func(root *node, arg string) (string, bool) {
		var buf scratch
		vals, ok := walk(buf[:0], root, 0, volumeHostPath)
		if !ok {
			return "", false
		}
		return strconv.FormatBool(hostPathIn(texts(vals), arg)), true
	}},
	// The keys of each volume but "name": its source (hostPath, secret...).
	"ka.req.pod.volumes.volume_type": {list: func(root *node, idx int) []string {
		var buf scratch
		vals, _ := walk(buf[:0], root, idx, volumeObjects)
		var out []string
		for _, v := range vals {
			if v == nil || v.k != kObject {
				continue
			}
			for _, k := range v.keys {
				if k != "name" {
					out = append(out, k)
				}
			}
		}
		return out
	}},
	"ka.resp.name":       str("responseObject", "metadata", "name"),
	"ka.response.code":   str("responseStatus", "code"),
	"ka.response.reason": str("responseStatus", "reason"),
	"ka.useragent":       str("userAgent"),
	// The plugin reads requestObject.rules[].sourceIPs: always missing.
	"ka.sourceips":    ruleKey("sourceIPs"),
	"ka.cluster.name": str("annotations", "cluster_name"),
}

// Paths of kaFields, built once.
var (
	privilegedPath = ctrPath("containers", "securityContext", "privileged")
	volumeHostPath = []string{"requestObject", "spec", "volumes", "hostPath", "path"}
	volumeObjects  = []string{"requestObject", "spec", "volumes", ""}
)

// hostPathIn reports whether a path is arg, or starts with arg minus its
// trailing '*'.
func hostPathIn(paths []string, arg string) bool {
	prefix, isPrefix := strings.CutSuffix(arg, "*")
	for _, p := range paths {
		if isPrefix && strings.HasPrefix(p, prefix) || p == arg {
			return true
		}
	}
	return false
}

// correctedFields replace kaFields with EnvOptions.Corrected.
var correctedFields = map[string]field{
	// The client's addresses (sourceIPs; [N]: the Nth).
	"ka.sourceips": {list: func(root *node, idx int) []string {
		ips := root.get("sourceIPs")
		if ips == nil || ips.k != kArray {
			return nil
		}
		if idx == noIndex {
			return texts(ips.vals)
		}
		if idx >= len(ips.vals) {
			return nil
		}
		return texts(ips.vals[idx : idx+1])
	}},
	// Whether a subject of the binding has the name; missing without
	// subjects.
	"ka.req.binding.subject.has_name": {str: func(root *node, arg string) (string, bool) {
		subs := root.at("requestObject", "subjects")
		if subs == nil || subs.k != kArray {
			return "", false
		}
		for _, s := range subs.vals {
			if n := s.get("name"); n != nil && n.k == kString && n.s == arg {
				return "true", true
			}
		}
		return "false", true
	}},
}

// jsonFields are the json plugin's fields (json.* and their jevt.*
// aliases), which read any JSON event.
var jsonFields = map[string]func(vm.FieldRef) (extractor, error){
	"json.value":   jsonValue,
	"jevt.value":   jsonValue,
	"json.obj":     func(vm.FieldRef) (extractor, error) { return jsonObj, nil },
	"jevt.obj":     func(vm.FieldRef) (extractor, error) { return jsonObj, nil },
	"json.rawtime": func(vm.FieldRef) (extractor, error) { return jsonRawtime, nil },
	"jevt.rawtime": func(vm.FieldRef) (extractor, error) { return jsonRawtime, nil },
}

// jsonValue is the value at a JSON pointer (RFC 6901; the leading '/' may
// be left out): a string's value, or any other value's JSON text.
func jsonValue(ref vm.FieldRef) (extractor, error) {
	toks := parsePointer(ref.Arg)
	return func(_ *Env, ev *Event, v *vm.Value) bool {
		s, ok := ev.root.at(toks...).text()
		return ok && setStr(v, s)
	}, nil
}

// jsonObj is the whole event as indented JSON (two spaces), as the json
// plugin prints it.
func jsonObj(_ *Env, ev *Event, v *vm.Value) bool {
	var b bytes.Buffer
	if json.Indent(&b, ev.Raw, "", "  ") != nil {
		return false
	}
	return setStr(v, b.String())
}

// jsonRawtime is the event time in ns, as text.
func jsonRawtime(_ *Env, ev *Event, v *vm.Value) bool {
	return setStr(v, strconv.FormatInt(ev.Time, 10))
}

// parsePointer splits a JSON pointer into its unescaped tokens; an empty
// pointer is the whole document ("/" is the member named "").
func parsePointer(p string) []string {
	if p == "" {
		return nil
	}
	p = strings.TrimPrefix(p, "/")
	toks := strings.Split(p, "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// CorrectedFieldsKey is the k8saudit plugin init_config key (falcoc's own;
// the plugin ignores it) that sets [EnvOptions.Corrected].
const CorrectedFieldsKey = "falcocCorrectedFields"
