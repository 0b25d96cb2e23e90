package vm

import "strings"

// prefixTree answers pmatch: does a path start with one of a set of paths,
// on '/' component boundaries? Components of the set's paths may hold glob
// wildcards, matched against one component of the path.
//
// Paths are split on '/'; empty components are dropped except the leading
// one that marks an absolute path, so "/var/run" is ["", "var", "run"] and
// "/var/run/" or "/var//run" the same. "/" matches every absolute path.
type prefixTree struct {
	root ptNode
}

type ptNode struct {
	end     bool // a set path ends here: everything below matches
	literal map[string]*ptNode
	globs   []ptGlob
}

type ptGlob struct {
	pat  string
	node *ptNode
}

func newPrefixTree(paths []string) *prefixTree {
	t := &prefixTree{}
	for _, p := range paths {
		n := &t.root
		for comp := range pathComponents(p) {
			n = n.child(comp)
		}
		n.end = true
	}
	return t
}

func (n *ptNode) child(comp string) *ptNode {
	if strings.ContainsAny(comp, "*?[\\") {
		for _, g := range n.globs {
			if g.pat == comp {
				return g.node
			}
		}
		c := &ptNode{}
		n.globs = append(n.globs, ptGlob{comp, c})
		return c
	}
	if c, ok := n.literal[comp]; ok {
		return c
	}
	if n.literal == nil {
		n.literal = map[string]*ptNode{}
	}
	c := &ptNode{}
	n.literal[comp] = c
	return c
}

// pathComponents yields the components of p as described on prefixTree.
func pathComponents(p string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		if strings.HasPrefix(p, "/") {
			if !yield("") {
				return
			}
		}
		for len(p) > 0 {
			i := strings.IndexByte(p, '/')
			var c string
			if i < 0 {
				c, p = p, ""
			} else {
				c, p = p[:i], p[i+1:]
			}
			if c != "" && !yield(c) {
				return
			}
		}
	}
}

// match reports whether path has one of the tree's paths as a prefix.
func (t *prefixTree) match(path string) bool {
	if strings.HasPrefix(path, "/") {
		n := t.root.literal[""]
		if n == nil {
			return false
		}
		return n.match(path[1:])
	}
	return t.root.match(path)
}

// match matches rest (the path after the components that led to n).
func (n *ptNode) match(rest string) bool {
	if n.end {
		return true
	}
	for len(rest) > 0 && rest[0] == '/' {
		rest = rest[1:]
	}
	if rest == "" {
		return false
	}
	comp, tail := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		comp, tail = rest[:i], rest[i:]
	}
	if c := n.literal[comp]; c != nil && c.match(tail) {
		return true
	}
	for _, g := range n.globs {
		if globMatch(g.pat, comp, false) && g.node.match(tail) {
			return true
		}
	}
	return false
}
