// Package rules embeds falcoc's default rule files, which falco-run loads
// when no rule file is given.
package rules

import "embed"

// FS holds the default rule files (*.yaml), loaded in name order.
//
//go:embed *.yaml
var FS embed.FS

// DefaultFile is the name of the main default rules file inside [FS].
const DefaultFile = "falco_rules.yaml"
