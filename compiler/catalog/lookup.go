package catalog

import "strings"

// Lookup finds the field a condition names. name is the field name as
// written, without a bracket argument. For fields with [FlagDotArg], a
// dotted suffix is the argument: Lookup("evt.arg.flags") returns the
// evt.arg field and "flags" with hasArg true.
func Lookup(name string) (f *Field, arg string, hasArg bool, ok bool) {
	if f, ok := byName[name]; ok {
		return f, "", false, true
	}
	// Longest registered prefix that accepts a dotted argument.
	for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		if f, ok := byName[name[:i]]; ok && f.Flags&FlagDotArg != 0 && i+1 < len(name) {
			return f, name[i+1:], true, true
		}
	}
	return nil, "", false, false
}

// Fields returns every field, in catalog order. The slice must not be
// modified.
func Fields() []*Field { return fieldList }

var fieldList, byName = index(fieldTable)

func index(t []Field) ([]*Field, map[string]*Field) {
	l := make([]*Field, len(t))
	m := make(map[string]*Field, len(t))
	for i := range t {
		l[i] = &t[i]
		m[t[i].Name] = &t[i]
	}
	return l, m
}
