// Package config reads the subset of falco.yaml that falcoc uses.
//
// [Default] returns Falco 0.44's defaults, [Load] overlays a falco.yaml on
// them and [Config.Set] applies one "-o key=value" override with Falco's
// dotted key syntax ("a.b=c", "a[0]=x", "a[]=x" to append). Keys falcoc does
// not use are ignored, as Falco ignores keys it does not know. Type errors
// name the key, and for files the file:line:col of the bad value.
//
// A Config is plain data; it is not safe for concurrent mutation.
package config
