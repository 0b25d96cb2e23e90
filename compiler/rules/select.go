package rules

import (
	"slices"
	"strings"
)

// applySelection sets each rule's Enabled flag from opts (see [Options]).
func applySelection(rs *Ruleset, opts *Options) {
	if opts == nil {
		return
	}
	for _, r := range rs.Rules {
		if len(opts.EnabledTags) > 0 {
			r.Enabled = hasAnyTag(r.Tags, opts.EnabledTags)
		}
		if matchAny(r.Name, opts.DisabledRules) || hasAnyTag(r.Tags, opts.DisabledTags) {
			r.Enabled = false
		}
		if matchAny(r.Name, opts.EnabledRules) {
			r.Enabled = true
		}
	}
}

func hasAnyTag(tags, want []string) bool {
	for _, t := range want {
		if slices.Contains(tags, t) {
			return true
		}
	}
	return false
}

func matchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if wildcardMatch(p, name) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against a pattern where `*` matches any
// sequence of characters and everything else matches itself.
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
