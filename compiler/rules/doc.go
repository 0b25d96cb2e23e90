// Package rules loads Falco rules files: YAML items in, expanded and
// checked rules out, with Falco's diagnostics.
//
// [Load] reads several files in order into one namespace, as Falco does
// with repeated -r options: later files may append to or override items of
// earlier ones. For each file it
//
//   - parses the YAML (every document must be a sequence of maps) and
//     reads each item (required_engine_version, required_plugin_versions,
//     list, macro, rule), applying `append`/`override`, enable-only items
//     and silent redefinition (the first definition keeps its place);
//   - flattens list items that name an earlier list, once;
//   - substitutes lists textually into macro and rule conditions (Falco's
//     rule: the name delimited by blanks, parentheses, commas or `=`,
//     items joined with ", " and quoted when they contain a space);
//   - rewrites exceptions into the rule condition text exactly as Falco
//     does, so that the final Condition string is Falco's;
//   - parses conditions with compiler/syntax and expands macros in the
//     AST, honouring visibility (a macro sees only earlier macros; a rule
//     sees all) and detecting reference loops;
//   - checks each rule's condition and output with compiler/check.
//
// Falco stops at the first error. Load reports every error it can: each
// item stops at its first error, and the others are still loaded. Every
// diagnostic carries the file, line and column of the text it is about,
// even inside block scalars, appended conditions, substituted lists and
// rewritten exceptions: each byte of a condition remembers the file byte
// it came from.
//
// A Ruleset is immutable after Load returns and safe for concurrent reads.
package rules
