// Package check resolves and types conditions and output formats against
// the field catalog, and infers each condition's event-type set.
//
// # Conditions
//
// [CheckCondition] takes a fully expanded condition tree from
// compiler/syntax (macros and lists already substituted by the rules
// loader) and returns a [Condition] whose IR is what code generation
// consumes:
//
//	Expr  = *And{Terms} | *Or{Terms} | *Not{X} | *Cmp | *Const{Value}
//	Cmp   = Left *Operand, Op, Mod, and either Values []Value (constants
//	        parsed by Left.Type) or Right *Operand (val() or a transformer)
//	Operand = a catalog field (with its argument and parsed index),
//	        a transformer over operands, or, inside transformer arguments
//	        only, a constant or a list
//
// Every node keeps the position of the syntax node it came from, so that
// later stages can point back at the rule file. The IR is not folded:
// call [Fold] for constant folding (evt.num = 0, evt.dir, and/or/not with
// constants).
//
// Checking enforces the rules Falco applies when it loads a rule: known
// fields (of the rule's source), field arguments, operator and type
// compatibility, list fields, modifiers, val() and transformer rules, and
// the parsing of every right-hand-side value by the left-hand type. Errors
// and warnings come back as [Issue] values with Falco's load-result codes;
// all of them are reported, in the order they are found.
//
// # Event types
//
// [Condition.EventTypes] is the set of evt.type values for which the
// condition can be true, computed with Falco's algorithm: and intersects,
// or unites, not is pushed to the leaves, evt.type = / == / != / in give
// explicit sets, and every other comparison is unconstrained.
//
// # Outputs
//
// [CheckOutput] splits an output format into literal text and values
// (%field, %field[arg], %20field, %transformer(...)) and resolves each
// value like a condition operand.
//
// Everything in the package is safe for concurrent use: the functions keep
// no state between calls, and the results are not modified afterwards.
package check
