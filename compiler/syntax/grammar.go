package syntax

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The grammar structs mirror the layered EBNF of the condition language
// (Or → And → Not → Check). Each has a Pos filled by participle with the
// position of its first token. They are converted to the AST of ast.go by
// convert.go; nothing outside this package sees them.

// orExpr is OrExpr ::= AndExpr ('or' AndExpr)*.
type orExpr struct {
	Pos  lexer.Position
	Head *andExpr      `parser:"@@"`
	Tail []*orExprTail `parser:"@@*"`
}

// orExprTail is 'or' AndExpr. The keyword must be followed by a blank or
// '('; the lexer splits "or(" into Or and LParen.
type orExprTail struct {
	Pos lexer.Position
	And *andExpr `parser:"Or @@"`
}

// andExpr is AndExpr ::= NotExpr ('and' NotExpr)*.
type andExpr struct {
	Pos  lexer.Position
	Head *notExpr       `parser:"@@"`
	Tail []*andExprTail `parser:"@@*"`
}

// andExprTail is 'and' NotExpr; "and(" is split like "or(".
type andExprTail struct {
	Pos lexer.Position
	Not *notExpr `parser:"And @@"`
}

// notExpr is NotExpr ::= ('not')* Check, where each 'not' is followed by a
// blank or '(' ("not(" is split like "or("). Each 'not' toggles the
// negation, as in Falco.
type notExpr struct {
	Pos   lexer.Position
	Nots  []string `parser:"@Not*"`
	Check *check   `parser:"@@"`
}

// check is Check ::= Comparison | Identifier | '(' Expr ')'. A BadKeyword
// (and/or not followed by a blank or '(') is an identifier here.
type check struct {
	Pos   lexer.Position
	Paren *orExpr     `parser:"  LParen @@ RParen"`
	Cmp   *comparison `parser:"| @@"`
	Ident string      `parser:"| @(Ident | BadKeyword)"`
}

// comparison is (Field | FieldTransformer) Condition.
type comparison struct {
	Pos    lexer.Position
	Trans  *fieldTransformer `parser:"( @@"`
	Field  *field            `parser:"| @@ )"`
	Exists bool              `parser:"( @Exists"`
	NumOp  string            `parser:"| @NumOp"`
	NumR   *numRHS           `parser:"  @@"`
	StrOp  string            `parser:"| @StrOp"`
	Mod    string            `parser:"  ( @Mod"`
	ModR   *modRHS           `parser:"    @@"`
	StrR   *strRHS           `parser:"  | @@ )"`
	ListOp string            `parser:"| @ListOp"`
	ListR  *listRHS          `parser:"  @@ )"`
}

// numRHS is the value after a numeric operator.
type numRHS struct {
	Pos   lexer.Position
	Trans *fieldTransformer `parser:"  @@"`
	Val   *valRef           `parser:"| @@"`
	Num   *string           `parser:"| @(Hex | Number)"`
}

// strRHS is the value after a string operator without modifier.
type strRHS struct {
	Pos    lexer.Position
	Trans  *fieldTransformer `parser:"  @@"`
	Val    *valRef           `parser:"| @@"`
	Quoted *string           `parser:"| @Quoted"`
	Bare   *string           `parser:"| @Bare"`
}

// modRHS is the list after a modifier.
type modRHS struct {
	Pos  lexer.Position
	List *listValue `parser:"  @@"`
	Name *string    `parser:"| @Ident"`
}

// listRHS is the value after a list operator.
type listRHS struct {
	Pos   lexer.Position
	List  *listValue        `parser:"  @@"`
	Trans *fieldTransformer `parser:"| @@"`
	Val   *valRef           `parser:"| @@"`
	Name  *string           `parser:"| @(Ident | Bare)"`
}

// listValue is ListValue's parenthesised form.
type listValue struct {
	Pos   lexer.Position
	Items []*listItem `parser:"LParen ( @@ ( Comma @@ )* )? RParen"`
}

// listItem is StrValue.
type listItem struct {
	Pos    lexer.Position
	Quoted *string `parser:"  @Quoted"`
	Bare   *string `parser:"| @Bare"`
}

// field is Field ::= FieldName ('[' FieldArg ']')?.
type field struct {
	Pos  lexer.Position
	Name string    `parser:"@FieldName"`
	Arg  *fieldArg `parser:"@@?"`
}

// fieldArg is '[' (QuotedStr | FieldArgBareStr) ']'.
type fieldArg struct {
	Pos    lexer.Position
	Quoted *string `parser:"LBracket ( @Quoted"`
	Bare   *string `parser:"         | @ArgBare ) RBracket"`
}

// fieldTransformer is FieldTransformer ::= Type Arg (',' Arg)* ')' ('[' FieldArg ']')?.
type fieldTransformer struct {
	Pos   lexer.Position
	Name  string            `parser:"@TransStart"`
	Args  []*transformerArg `parser:"@@ ( Comma @@ )* RParen"`
	Index *fieldArg         `parser:"@@?"`
}

// transformerArg is FieldTransformerArg (and TransformerListArg, without lists).
type transformerArg struct {
	Pos    lexer.Position
	Trans  *fieldTransformer `parser:"  @@"`
	Field  *field            `parser:"| @@"`
	Quoted *string           `parser:"| @Quoted"`
	Num    *string           `parser:"| @(Hex | Number)"`
	List   *transformerList  `parser:"| @@"`
}

// transformerList is TransformerList ::= '(' (Arg (',' Arg)*)? ')'.
type transformerList struct {
	Pos   lexer.Position
	Items []*transformerListArg `parser:"LParen ( @@ ( Comma @@ )* )? RParen"`
}

// transformerListArg is TransformerListArg.
type transformerListArg struct {
	Pos    lexer.Position
	Trans  *fieldTransformer `parser:"  @@"`
	Field  *field            `parser:"| @@"`
	Quoted *string           `parser:"| @Quoted"`
	Num    *string           `parser:"| @(Hex | Number)"`
}

// valRef is 'val(' Field ')'.
type valRef struct {
	Pos   lexer.Position
	Field *field `parser:"ValStart @@ RParen"`
}

// grammar is the condition parser, built once.
var grammar = participle.MustBuild[orExpr](
	participle.Lexer(lexDef),
	// The grammar is LL(1): a branch that consumed a token is committed, so
	// errors point at the token that broke it, not at the branch start.
	participle.UseLookahead(0),
)
