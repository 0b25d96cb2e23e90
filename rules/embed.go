// Package rules embeds falcoc's default rule files, which falco-run loads
// when no rule file is given.
package rules

import "embed"

// FS holds the default rule files, loaded in name order. The Kubernetes
// audit rules (k8s_audit_rules.yaml) are not among them: loading them
// opens the audit webhook's port, which a user asks for with -r.
//
//go:embed falco_rules.yaml
var FS embed.FS

// DefaultFile is the name of the main default rules file inside [FS].
const DefaultFile = "falco_rules.yaml"
