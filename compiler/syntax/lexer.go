package syntax

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Regular expressions shared by the lexer states. They follow the token
// definitions of the condition language (falco-rules-language.md §1.1, §1.2).
const (
	// reBlank is one blank: space, tab, backspace, CR or LF.
	reBlank = `[ \t\x08\r\n]`
	// reIdent is Falco's identifier.
	reIdent = `[a-zA-Z]+[a-zA-Z0-9_]*`
	// reFieldName is an identifier with at least one dotted part.
	reFieldName = `[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+`
	// reQuoted is a complete single- or double-quoted string; escapes are
	// checked and resolved later.
	reQuoted = `"(?:[^"\\]|\\(?s:.))*"|'(?:[^'\\]|\\(?s:.))*'`
	// reUnterminated is a quote that is never closed: the rest of the input.
	reUnterminated = `["'](?s:.)*`
	// reBare is a bare string value.
	reBare = `[^()"'\t\n\v\f\r =,]+`
	// reArgBare is a bare field argument.
	reArgBare = `[^\[\]"'\t\n\v\f\r ]+`
	reHex     = `0[xX][0-9a-fA-F]+`
	reNumber  = `[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?`
	// reTransStart is a transformer name directly followed by '('.
	reTransStart = `(?:tolower|toupper|b64|basename|len|join|concat|getopt)\(`
	reValStart   = `val\(`

	// String operators; the word operators need a blank after them.
	reStrOp = `==|!=|=|(?:glob|iglob|contains|icontains|bcontains|startswith|bstartswith|endswith|regex)` + reBlank
	// reModPrefix is a string operator followed by a blank and a modifier
	// and a blank: the start of a modified comparison.
	reModPrefix = `(?:==|!=|=|glob|iglob|contains|icontains|bcontains|startswith|bstartswith|endswith|regex)` +
		reBlank + `+(?:oneof|anyof|allof)` + reBlank + `+`
	reNumOp  = `<=|<|>=|>`
	reListOp = `intersects|in|pmatch`
)

// reIdentNotKeyword is an identifier other than the words and, or and not.
// Go regular expressions have no look-ahead, so the exclusion is spelled out
// by length; \b makes the match maximal.
const reIdentNotKeyword = `(?:[a-zA-Z][a-zA-Z0-9_]{3,}` +
	`|[b-mo-zA-Z][a-zA-Z0-9_]{2}|a[a-mo-zA-Z0-9_][a-zA-Z0-9_]|an[a-ce-zA-Z0-9_]|n[a-np-zA-Z0-9_][a-zA-Z0-9_]|no[a-su-zA-Z0-9_]` +
	`|[a-np-zA-Z][a-zA-Z0-9_]|o[a-qs-zA-Z0-9_]` +
	`|[a-zA-Z])\b`

// lexerRules is the stateful lexer. Falco's bare strings make the language
// modal: after an operator the next word is a value, where `/etc/shadow`,
// `-c` or `O_TRUNC` are strings, while elsewhere words are fields, macro
// names or keywords. The states are:
//
//   - Root: boolean structure (not, and, or, parentheses, macro names). A
//     field name or a transformer call starts a check and pushes Check.
//     BadKeyword is an `and` or `or` followed by neither a blank nor '(';
//     it is a macro name where a check starts and an error elsewhere.
//   - Check: the inside of one check: field arguments, transformer
//     arguments and the operator. An operator pushes Val, ValNum or VList.
//     Check ends with Return, so the words that end a check (and, or) fall
//     back to Root; none of Check's own rules can match them.
//   - Val / ValNum: exactly one value after an operator. A simple value pops
//     at once; anything else (a call, a list) returns to Check.
//   - VList: a parenthesised list of values.
//   - TArgs: the arguments of a nested transformer call.
//   - FArg: a field argument between brackets.
//
// The operator and modifier rules that end in '(' or in a list name are
// combined tokens, so that the right state is pushed; [condLexer] cuts them
// back into their parts before the parser sees them, as it does with
// "not(", "and(" and "or(". It also retypes a quoted string with an
// unsupported escape as BadQuoted, so that the parser stops there and the
// error comes in source order.
var lexerRules = lexer.Rules{
	"Root": {
		{Name: "blank", Pattern: reBlank + `+`},
		{Name: "NotParen", Pattern: `not\(`},
		{Name: "Not", Pattern: `not` + reBlank},
		{Name: "AndParen", Pattern: `and\(`},
		{Name: "And", Pattern: `and` + reBlank},
		{Name: "OrParen", Pattern: `or\(`},
		{Name: "Or", Pattern: `or` + reBlank},
		{Name: "TransStart", Pattern: reTransStart, Action: lexer.Push("Check")},
		{Name: "FieldName", Pattern: reFieldName, Action: lexer.Push("Check")},
		{Name: "BadKeyword", Pattern: `(?:and|or)\b`},
		{Name: "Ident", Pattern: reIdent},
		{Name: "LParen", Pattern: `\(`},
		{Name: "RParen", Pattern: `\)`},
		{Name: "Quoted", Pattern: reQuoted},
		{Name: "Unterminated", Pattern: reUnterminated},
		{Name: "Other", Pattern: `(?s:.)`},
	},
	"Check": {
		{Name: "blank", Pattern: reBlank + `+`},
		{Name: "FieldName", Pattern: reFieldName},
		{Name: "TransStart", Pattern: reTransStart, Action: lexer.Push("TArgs")},
		{Name: "ModList", Pattern: reModPrefix + `\(`, Action: lexer.Push("VList")},
		{Name: "ModIdent", Pattern: reModPrefix + reIdentNotKeyword},
		{Name: "OpList", Pattern: `(?:` + reListOp + `)` + reBlank + `*\(`, Action: lexer.Push("VList")},
		{Name: "StrOp", Pattern: reStrOp, Action: lexer.Push("Val")},
		{Name: "NumOp", Pattern: reNumOp, Action: lexer.Push("ValNum")},
		{Name: "ListOp", Pattern: reListOp, Action: lexer.Push("Val")},
		{Name: "Exists", Pattern: `exists`},
		{Name: "LBracket", Pattern: `\[`, Action: lexer.Push("FArg")},
		{Name: "LParen", Pattern: `\(`, Action: lexer.Push("TArgs")},
		{Name: "RParen", Pattern: `\)`},
		{Name: "Comma", Pattern: `,`},
		{Name: "Quoted", Pattern: reQuoted},
		{Name: "Unterminated", Pattern: reUnterminated},
		{Name: "Hex", Pattern: reHex},
		{Name: "Number", Pattern: reNumber},
		lexer.Return(),
	},
	"Val": {
		{Name: "blank", Pattern: reBlank + `+`},
		{Name: "TransStart", Pattern: reTransStart, Action: lexer.Pop()},
		{Name: "ValStart", Pattern: reValStart, Action: lexer.Pop()},
		{Name: "Quoted", Pattern: reQuoted, Action: lexer.Pop()},
		{Name: "Unterminated", Pattern: reUnterminated, Action: lexer.Pop()},
		{Name: "Bare", Pattern: reBare, Action: lexer.Pop()},
		lexer.Return(),
	},
	"ValNum": {
		{Name: "blank", Pattern: reBlank + `+`},
		{Name: "TransStart", Pattern: reTransStart, Action: lexer.Pop()},
		{Name: "ValStart", Pattern: reValStart, Action: lexer.Pop()},
		{Name: "Hex", Pattern: reHex, Action: lexer.Pop()},
		{Name: "Number", Pattern: reNumber, Action: lexer.Pop()},
		lexer.Return(),
	},
	"VList": {
		{Name: "blank", Pattern: reBlank + `+`},
		{Name: "Quoted", Pattern: reQuoted},
		{Name: "Unterminated", Pattern: reUnterminated},
		{Name: "Bare", Pattern: reBare},
		{Name: "Comma", Pattern: `,`},
		{Name: "RParen", Pattern: `\)`, Action: lexer.Pop()},
		{Name: "Other", Pattern: `(?s:.)`},
	},
	"TArgs": {
		{Name: "blank", Pattern: reBlank + `+`},
		{Name: "FieldName", Pattern: reFieldName},
		{Name: "TransStart", Pattern: reTransStart, Action: lexer.Push("TArgs")},
		{Name: "LParen", Pattern: `\(`, Action: lexer.Push("TArgs")},
		{Name: "RParen", Pattern: `\)`, Action: lexer.Pop()},
		{Name: "Comma", Pattern: `,`},
		{Name: "LBracket", Pattern: `\[`, Action: lexer.Push("FArg")},
		{Name: "Quoted", Pattern: reQuoted},
		{Name: "Unterminated", Pattern: reUnterminated},
		{Name: "Hex", Pattern: reHex},
		{Name: "Number", Pattern: reNumber},
		{Name: "Other", Pattern: `(?s:.)`},
	},
	"FArg": {
		{Name: "Quoted", Pattern: reQuoted},
		{Name: "Unterminated", Pattern: reUnterminated},
		{Name: "ArgBare", Pattern: reArgBare},
		{Name: "RBracket", Pattern: `\]`, Action: lexer.Pop()},
		{Name: "Other", Pattern: `(?s:.)`},
	},
}

// statefulDef is the stateful lexer built from lexerRules.
var statefulDef = lexer.MustStateful(lexerRules)

// condLexerDef wraps the stateful lexer: it splits combined tokens and
// adds the token types that only the split produces.
type condLexerDef struct {
	symbols map[string]lexer.TokenType
}

// Token types that only the splitter produces.
const (
	symMod      = "Mod"
	symBadQuote = "BadQuoted"
)

func newCondLexerDef() *condLexerDef {
	syms := map[string]lexer.TokenType{}
	lowest := lexer.EOF
	for k, v := range statefulDef.Symbols() {
		syms[k] = v
		if v < lowest {
			lowest = v
		}
	}
	syms[symMod] = lowest - 1
	syms[symBadQuote] = lowest - 2
	return &condLexerDef{symbols: syms}
}

var lexDef = newCondLexerDef()

// Symbols implements lexer.Definition.
func (d *condLexerDef) Symbols() map[string]lexer.TokenType { return d.symbols }

// Lex implements lexer.Definition.
func (d *condLexerDef) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read condition: %w", err)
	}
	return d.LexString(filename, string(b))
}

// LexString implements lexer.StringDefinition.
func (d *condLexerDef) LexString(filename, src string) (lexer.Lexer, error) {
	inner, err := statefulDef.LexString(filename, src)
	if err != nil {
		return nil, err
	}
	return &condLexer{def: d, inner: inner}, nil
}

// condLexer splits the combined tokens of the stateful lexer:
//
//	ModList   "startswith oneof ("  → StrOp Mod LParen
//	ModIdent  "= anyof my_list"     → StrOp Mod Ident
//	OpList    "in ("                → ListOp LParen
//	AndParen  "and("                → And LParen (also or( and not()
//
// It also trims the blank that word operators and keywords carry.
type condLexer struct {
	def   *condLexerDef
	inner lexer.Lexer
	queue []lexer.Token
}

// Next implements lexer.Lexer.
func (l *condLexer) Next() (lexer.Token, error) {
	if len(l.queue) > 0 {
		t := l.queue[0]
		l.queue = l.queue[1:]
		return t, nil
	}
	t, err := l.inner.Next()
	if err != nil {
		return t, err
	}
	syms := l.def.symbols
	switch t.Type {
	case syms["ModList"], syms["ModIdent"]:
		op, rest := splitWord(t, syms["StrOp"])
		mod, rest := splitWord(rest, syms[symMod])
		if t.Type == syms["ModList"] {
			rest.Type = syms["LParen"]
		} else {
			rest.Type = syms["Ident"]
		}
		l.queue = append(l.queue, mod, rest)
		return op, nil
	case syms["NotParen"], syms["AndParen"], syms["OrParen"]:
		kw := t.Value[:len(t.Value)-1]
		paren := t.Pos
		paren.Advance(kw)
		l.queue = append(l.queue, lexer.Token{Type: syms["LParen"], Value: "(", Pos: paren})
		return lexer.Token{Type: syms[strings.ToUpper(kw[:1])+kw[1:]], Value: kw, Pos: t.Pos}, nil
	case syms["OpList"]:
		op, rest := splitWord(t, syms["ListOp"])
		rest.Type = syms["LParen"]
		l.queue = append(l.queue, rest)
		return op, nil
	case syms["StrOp"], syms["Not"], syms["And"], syms["Or"]:
		t.Value = strings.TrimRight(t.Value, blankChars)
	case syms["Quoted"]:
		if _, bad := unquote(t.Value); bad >= 0 {
			t.Type = syms[symBadQuote]
		}
	}
	return t, nil
}

// blankChars are the characters of reBlank.
const blankChars = " \t\b\r\n"

// splitWord cuts the leading operator or modifier word off t: it returns
// the word as a token of type typ, and the rest of t (after the blanks) as a
// token whose type the caller sets.
func splitWord(t lexer.Token, typ lexer.TokenType) (word, rest lexer.Token) {
	v := t.Value
	n := operatorLen(v)
	word = lexer.Token{Type: typ, Value: v[:n], Pos: t.Pos}
	m := n
	for m < len(v) && strings.IndexByte(blankChars, v[m]) >= 0 {
		m++
	}
	pos := t.Pos
	pos.Advance(v[:m])
	rest = lexer.Token{Value: v[m:], Pos: pos}
	return word, rest
}

// operatorLen is the length of the operator or modifier word at the start
// of v: a run of letters, or a run of the symbols = ! < >.
func operatorLen(v string) int {
	isSym := func(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' }
	isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' }
	if v == "" {
		return 0
	}
	f := isLetter
	if isSym(v[0]) {
		f = isSym
	}
	n := 0
	for n < len(v) && f(v[n]) {
		n++
	}
	return n
}
