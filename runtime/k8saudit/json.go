package k8saudit

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// kind is the type of a JSON value.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kObject
	kArray
)

// node is one JSON value of a decoded event. Objects keep their members
// in source order (the k8saudit plugin's JSON library does too, and
// values rendered as JSON show it), and every value keeps its text.
//
//	{"a":[1,"x"]}   node{k: kObject, raw: `{"a":[1,"x"]}`, keys: ["a"], vals: [
//	                  node{k: kArray, raw: `[1,"x"]`, vals: [
//	                    node{k: kNumber, raw: `1`}, node{k: kString, raw: `"x"`, s: "x"}]}]}
type node struct {
	k    kind
	raw  string   // the value as compact JSON text, escapes as written
	s    string   // a string's value, unescaped
	keys []string // object member names, in order
	vals []*node  // object member values (parallel to keys) or array elements
}

// get is the member key of an object (the first one, if repeated), or the
// element at the decimal index key of an array; nil if there is none.
func (n *node) get(key string) *node {
	if n == nil {
		return nil
	}
	switch n.k {
	case kObject:
		for i, k := range n.keys {
			if k == key {
				return n.vals[i]
			}
		}
	case kArray:
		i, err := strconv.Atoi(key)
		if err == nil && i >= 0 && i < len(n.vals) {
			return n.vals[i]
		}
	}
	return nil
}

// at follows keys from n; nil when a step is missing.
func (n *node) at(keys ...string) *node {
	for _, k := range keys {
		n = n.get(k)
	}
	return n
}

// text renders a value as the plugins do: a string is its value, any
// other value (numbers, booleans, null, objects, arrays) its JSON text.
// A nil node has no text.
func (n *node) text() (string, bool) {
	switch {
	case n == nil:
		return "", false
	case n.k == kString:
		return n.s, true
	}
	return n.raw, true
}

// maxDepth bounds the nesting of objects and arrays in an event.
const maxDepth = 1000

var errDepth = errors.New("JSON nested deeper than 1000 levels")

// parseJSON builds the tree of src, which must be valid compact JSON (the
// output of json.Compact). Nodes' raw texts are substrings of src.
func parseJSON(src string) (*node, error) {
	p := jsonParser{src: src}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(src) {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

type jsonParser struct {
	src string
	i   int
}

func (p *jsonParser) value(depth int) (*node, error) {
	if p.i >= len(p.src) {
		return nil, errors.New("unexpected end of JSON")
	}
	start := p.i
	switch c := p.src[p.i]; c {
	case '{', '[':
		if depth >= maxDepth {
			return nil, errDepth
		}
		n := &node{k: kArray}
		end := byte(']')
		if c == '{' {
			n.k, end = kObject, '}'
		}
		p.i++
		for p.i < len(p.src) && p.src[p.i] != end {
			if len(n.vals) > 0 {
				p.i++ // ','
			}
			if n.k == kObject {
				k, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.s)
				p.i++ // ':'
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		p.i++
		n.raw = p.src[start:min(p.i, len(p.src))]
		return n, nil
	case '"':
		p.i++
		escaped := false
		for p.i < len(p.src) && p.src[p.i] != '"' {
			if p.src[p.i] == '\\' {
				escaped = true
				p.i++
			}
			p.i++
		}
		p.i++
		n := &node{k: kString, raw: p.src[start:min(p.i, len(p.src))]}
		n.s = n.raw[1 : len(n.raw)-1]
		if escaped {
			if err := json.Unmarshal([]byte(n.raw), &n.s); err != nil {
				return nil, err
			}
		}
		return n, nil
	default:
		for p.i < len(p.src) && !strings.ContainsRune(",:]}", rune(p.src[p.i])) {
			p.i++
		}
		n := &node{raw: p.src[start:p.i]}
		switch {
		case n.raw == "null":
			n.k = kNull
		case n.raw == "true" || n.raw == "false":
			n.k = kBool
		default:
			n.k = kNumber
		}
		return n, nil
	}
}
