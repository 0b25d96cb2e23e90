package scap

import "github.com/falcoc/falcoc/compiler/catalog"

//go:generate go run ./internal/gen -out .

// ppmName is one named value of a libscap flag table, with its PPM value
// (libscap's own encoding, not Linux's).
type ppmName struct {
	Name  string
	Value uint64
}

// ppmParam is one parameter of a libscap event code.
type ppmParam struct {
	Name  string
	Type  catalog.ParamType
	Names []ppmName
}

// ppmEvent is one libscap event code: its name (evt.type), category and
// flags (EC_*, EF_*), and its parameters in the order they are stored.
type ppmEvent struct {
	Name     string
	Sym      string
	Category uint64
	Flags    uint64
	Params   []ppmParam
}
