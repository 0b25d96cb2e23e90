// Package container finds the container a process runs in from its cgroup
// paths, for the layouts that docker, podman, containerd, CRI-O and
// Kubernetes create.
//
// The functions here are pure: they read nothing from the system and are
// safe for concurrent use.
package container

import (
	"strings"
)

// Container types, as Falco reports them in container.type.
const (
	TypeHost       = "host"
	TypeDocker     = "docker"
	TypePodman     = "podman"
	TypeContainerd = "containerd"
	TypeCRIO       = "cri-o"
	TypeCRI        = "cri"
)

// HostID is container.id (and container.full_id) for processes that run
// on the host.
const HostID = "host"

// shortLen is the length of container.id for hexadecimal ids.
const shortLen = 12

// DefaultContainerdNamespaces lists the containerd namespaces whose
// cgroups (/<namespace>/<name>) are taken as containerd containers by
// [ParseCgroup].
var DefaultContainerdNamespaces = []string{"default"}

// ParseCgroup returns the container a cgroup path belongs to. For a path
// of no known runtime layout it returns ("host", "host", "host", false).
// It is [Parser.Parse] with the default containerd namespaces.
func ParseCgroup(path string) (id, fullID, typ string, ok bool) {
	return defaultParser.Parse(path)
}

var defaultParser = Parser{ContainerdNamespaces: DefaultContainerdNamespaces}

// Parser recognises container cgroup layouts. The zero value recognises
// every layout except containerd's plain /<namespace>/<name>, which needs
// the namespace names. A Parser is safe for concurrent use once built.
type Parser struct {
	// ContainerdNamespaces are the first path components that mark a
	// containerd container (created by ctr/nerdctl with the cgroupfs
	// driver): /<namespace>/<name>.
	ContainerdNamespaces []string
}

// Parse returns the container a cgroup path belongs to: id is
// container.id (the first 12 characters of a hexadecimal id, or the whole
// name for containerd names), fullID is container.full_id and typ
// container.type. ok is false for host processes, with id, fullID and typ
// all "host".
//
// Nested layouts (a container runtime inside a container) give the
// innermost container. Leading "/.." components, which appear when the
// reader lives in another cgroup namespace, are ignored.
func (p *Parser) Parse(path string) (id, fullID, typ string, ok bool) {
	// Walk the components from the last to the first; the innermost
	// match wins.
	rest := path
	for len(rest) > 0 {
		rest = strings.TrimRight(rest, "/")
		i := strings.LastIndexByte(rest, '/')
		comp := rest[i+1:]
		parent := ""
		if i >= 0 {
			parent = rest[:i]
		}
		if full, t, found := p.component(comp, parent); found {
			return shortID(full), full, t, true
		}
		if i < 0 {
			break
		}
		rest = parent
	}
	return HostID, HostID, TypeHost, false
}

// component recognises one path component, given the path before it.
func (p *Parser) component(comp, parent string) (fullID, typ string, ok bool) {
	if comp == "" || comp == ".." || comp == "." {
		return "", "", false
	}
	// systemd scopes: <prefix>-<64hex>.scope
	if body, found := strings.CutSuffix(comp, ".scope"); found {
		for _, s := range scopePrefixes {
			if id, found := strings.CutPrefix(body, s.prefix); found && isHexID(id) {
				return id, s.typ, true
			}
		}
		return "", "", false
	}
	lastParent := parent[strings.LastIndexByte(parent, '/')+1:]
	// cgroupfs layouts: /docker/<id>, /crio/<id>, /libpod_parent/libpod-<id>
	switch lastParent {
	case "docker":
		if isHexID(comp) {
			return comp, TypeDocker, true
		}
	case "crio":
		if isHexID(comp) {
			return comp, TypeCRIO, true
		}
	case "libpod_parent":
		if id, found := strings.CutPrefix(comp, "libpod-"); found && isHexID(id) {
			return id, TypePodman, true
		}
	}
	// Kubernetes with cgroupfs: /kubepods/[<qos>/]pod<uid>/<64hex>. The
	// runtime is not visible in the path.
	if strings.HasPrefix(lastParent, "pod") && isHexID(comp) && strings.Contains(parent, "kubepods") {
		return comp, TypeCRI, true
	}
	// containerd with cgroupfs: /<namespace>/<name>, only at the top.
	if ns, found := strings.CutPrefix(trimDotDot(parent), "/"); found && !strings.Contains(ns, "/") {
		for _, want := range p.ContainerdNamespaces {
			if ns == want && validName(comp) {
				return comp, TypeContainerd, true
			}
		}
	}
	return "", "", false
}

var scopePrefixes = []struct{ prefix, typ string }{
	{"docker-", TypeDocker},
	{"libpod-", TypePodman},
	{"cri-containerd-", TypeContainerd},
	{"crio-", TypeCRIO},
}

// trimDotDot drops leading "/.." components.
func trimDotDot(p string) string {
	for strings.HasPrefix(p, "/..") && (len(p) == 3 || p[3] == '/') {
		p = p[3:]
	}
	return p
}

// shortID returns container.id for a full id: the first 12 characters
// of a hexadecimal id, any other name unchanged.
func shortID(full string) string {
	if len(full) > shortLen && isHex(full) {
		return full[:shortLen]
	}
	return full
}

// isHexID reports whether s is a 64-character lowercase hexadecimal id.
func isHexID(s string) bool { return len(s) == 64 && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return len(s) > 0
}

// validName reports whether s can be a containerd container name.
func validName(s string) bool {
	if s == "" || len(s) > 128 || strings.HasSuffix(s, ".slice") || strings.HasSuffix(s, ".service") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Cgroup is one line of /proc/<pid>/cgroup: the hierarchy's controllers
// ("" for cgroup v2, "memory", "cpu,cpuacct", "name=systemd", ...) and the
// path.
type Cgroup struct {
	Controllers string
	Path        string
}

// ParseProcCgroup parses the text of /proc/<pid>/cgroup. Malformed lines
// are skipped.
func ParseProcCgroup(text string) []Cgroup {
	var out []Cgroup
	for line := range strings.SplitSeq(text, "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrl, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		out = append(out, Cgroup{Controllers: ctrl, Path: path})
	}
	return out
}

// MainPath returns the cgroup path that identifies the process: the v2
// path, or, when that is "/" or missing (a hybrid layout, or a process in
// its own cgroup namespace), the path of the v1 memory controller, then
// cpu, then the first non-root v1 path.
func MainPath(cgs []Cgroup) string {
	v2 := ""
	for _, c := range cgs {
		if c.Controllers == "" {
			v2 = c.Path
		}
	}
	if v2 != "" && v2 != "/" {
		return v2
	}
	for _, want := range []string{"memory", "cpu"} {
		for _, c := range cgs {
			if hasController(c.Controllers, want) && c.Path != "/" {
				return c.Path
			}
		}
	}
	for _, c := range cgs {
		if c.Controllers != "" && c.Path != "/" && c.Path != "" {
			return c.Path
		}
	}
	if v2 != "" {
		return v2
	}
	return "/"
}

func hasController(list, want string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == want {
			return true
		}
	}
	return false
}

// FromCgroups returns the container for a process's cgroups: the first
// hierarchy (v2 first, then v1 in order) whose path is a container's.
func (p *Parser) FromCgroups(cgs []Cgroup) (id, fullID, typ string, ok bool) {
	for _, c := range cgs {
		if c.Controllers == "" {
			if id, fullID, typ, ok = p.Parse(c.Path); ok {
				return id, fullID, typ, ok
			}
		}
	}
	for _, c := range cgs {
		if c.Controllers != "" {
			if id, fullID, typ, ok = p.Parse(c.Path); ok {
				return id, fullID, typ, ok
			}
		}
	}
	return HostID, HostID, TypeHost, false
}
