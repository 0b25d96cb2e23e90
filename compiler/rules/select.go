package rules

// applySelection sets each rule's Enabled flag from opts (see [Options]).
func applySelection(rs *Ruleset, opts *Options) {
	if opts.IsZero() {
		return
	}
	for _, r := range rs.Rules {
		r.Enabled = opts.Enabled(r.Name, r.Tags, r.Enabled)
	}
}
