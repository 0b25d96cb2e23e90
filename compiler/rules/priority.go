package rules

import (
	"fmt"
	"strings"
)

// Priority is a rule's severity, from the most severe (Emergency) to the
// least (Debug), as Falco orders them.
type Priority int

// The priorities.
const (
	Emergency Priority = iota
	Alert
	Critical
	Error
	Warning
	Notice
	Informational
	Debug
)

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns the name Falco prints: "Warning", "Informational", ...
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return priorityNames[p]
}

// ParsePriority parses a priority case-insensitively; "info" is accepted
// for Informational. The error message is Falco's: "Invalid priority".
func ParsePriority(s string) (Priority, error) {
	switch strings.ToLower(s) {
	case "emergency":
		return Emergency, nil
	case "alert":
		return Alert, nil
	case "critical":
		return Critical, nil
	case "error":
		return Error, nil
	case "warning":
		return Warning, nil
	case "notice":
		return Notice, nil
	case "informational", "info":
		return Informational, nil
	case "debug":
		return Debug, nil
	}
	return 0, errInvalidPriority
}

var errInvalidPriority = fmt.Errorf("Invalid priority") //nolint:staticcheck // Falco's exact text
