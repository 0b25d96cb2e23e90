package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// EngineVersion is the Falco engine version falcoc answers
// required_engine_version with (Falco 0.44).
const EngineVersion = "0.62.0"

// nativePlugins are the plugins whose fields falcoc provides itself, with
// the newest minor version whose requirements it satisfies (any patch
// level): a requirement is met when it has the same major version and is
// not newer than major.minor.x.
var nativePlugins = map[string]semver{
	"container": {0, 7, math.MaxUint64},
	"k8saudit":  {0, 18, math.MaxUint64},
	"json":      {0, 7, math.MaxUint64},
}

// pluginVersionString prints a native plugin version as "0.7.x".
func pluginVersionString(v semver) string { return fmt.Sprintf("%d.%d.x", v.major, v.minor) }

type semver struct{ major, minor, patch uint64 }

func (v semver) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

func (v semver) less(o semver) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	if v.minor != o.minor {
		return v.minor < o.minor
	}
	return v.patch < o.patch
}

// compatibleWith reports whether a component at version v satisfies a
// requirement of version req: same major version and v >= req.
func (v semver) compatibleWith(req semver) bool {
	return v.major == req.major && !v.less(req)
}

// parseSemver parses "x.y.z" (a pre-release or build suffix is ignored).
func parseSemver(s string) (semver, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return semver{}, false
	}
	var n [3]uint64
	for i, p := range parts {
		if p == "" {
			return semver{}, false
		}
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return semver{}, false
		}
		n[i] = v
	}
	return semver{n[0], n[1], n[2]}, true
}

// parseEngineVersion parses a required_engine_version value: an integer N
// means 0.N.0, anything else must be "x.y.z".
func parseEngineVersion(s string) (semver, bool) {
	if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
		return semver{0, n, 0}, true
	}
	return parseSemver(s)
}
