// Package selection decides which rules are enabled: Falco's -D, -T and -t
// options and falco.yaml's `rules:` list. It is the one implementation used
// both when rule files are loaded (compiler/rules) and when a compiled
// artifact is loaded (falco-run -r rules.fbc), so that a selection means the
// same thing on both inputs. It depends on the standard library only and is
// safe for concurrent use.
package selection

import (
	"slices"
	"strings"
)

// Selection selects the enabled rules. The zero value (and a nil
// *Selection) keeps every rule's own `enabled` flag.
//
// It is applied in this order: when EnabledTags is not empty, a rule is
// enabled exactly when it has one of those tags (whatever its `enabled`
// key says); then rules matching DisabledRules or having one of
// DisabledTags are disabled; then rules matching EnabledRules are enabled.
// Rule names are matched with [Match].
type Selection struct {
	DisabledRules []string
	DisabledTags  []string
	EnabledTags   []string
	EnabledRules  []string
}

// Enabled reports whether a rule named name with tags, whose own flag is
// enabled, is enabled under s.
func (s *Selection) Enabled(name string, tags []string, enabled bool) bool {
	if s == nil {
		return enabled
	}
	if len(s.EnabledTags) > 0 {
		enabled = hasAnyTag(tags, s.EnabledTags)
	}
	if matchAny(name, s.DisabledRules) || hasAnyTag(tags, s.DisabledTags) {
		enabled = false
	}
	if matchAny(name, s.EnabledRules) {
		enabled = true
	}
	return enabled
}

// IsZero reports whether s selects nothing (every rule keeps its flag).
func (s *Selection) IsZero() bool {
	return s == nil || len(s.DisabledRules)+len(s.DisabledTags)+len(s.EnabledTags)+len(s.EnabledRules) == 0
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
		if Match(p, name) {
			return true
		}
	}
	return false
}

// Match matches a rule name against a pattern where `*` matches any
// sequence of characters (`/` included) and every other character,
// `?`, `[` and `\` included, matches itself, as Falco's rule selection
// does.
func Match(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return len(name) >= len(last) && strings.HasSuffix(name, last)
}
