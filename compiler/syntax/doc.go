// Package syntax parses Falco rule conditions into an AST with positions.
//
// [Parse] reads the complete condition language of Falco 0.44: and/or/not
// with Falco's precedence and blank rules, every comparison operator, the
// oneof/anyof/allof modifiers, field arguments, transformers and val(),
// quoted and bare strings, numbers and lists. The grammar is written for
// participle with a stateful lexer: after an operator, words such as
// /etc/shadow or -c are bare strings, while elsewhere words are fields,
// macro names or keywords. [Format] prints an AST in the canonical form
// Falco uses for compiled conditions.
//
// The package keeps no mutable state: Parse and Format are safe for
// concurrent use, and the AST they return belongs to the caller.
package syntax
