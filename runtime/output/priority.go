package output

import (
	"fmt"
	"strings"
)

// Priority is a rule's severity in Falco's order: Emergency (0) is the most
// severe and Debug (7) the least. The numbers equal syslog severities.
type Priority int8

// The priorities, most severe first.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

var priorityNames = [...]string{
	PriorityEmergency:     "Emergency",
	PriorityAlert:         "Alert",
	PriorityCritical:      "Critical",
	PriorityError:         "Error",
	PriorityWarning:       "Warning",
	PriorityNotice:        "Notice",
	PriorityInformational: "Informational",
	PriorityDebug:         "Debug",
}

// String returns the name Falco prints in alerts ("Warning", "Informational").
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("Priority(%d)", int8(p))
	}
	return priorityNames[p]
}

// Valid reports whether p is one of the eight priorities.
func (p Priority) Valid() bool { return p >= PriorityEmergency && p <= PriorityDebug }

// ParsePriority parses a priority name as Falco does: case-insensitive, with
// "info" accepted for Informational.
func ParsePriority(s string) (Priority, error) {
	l := strings.ToLower(s)
	if l == "info" {
		return PriorityInformational, nil
	}
	for i, n := range priorityNames {
		if strings.ToLower(n) == l {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("unknown priority %q", s)
}
