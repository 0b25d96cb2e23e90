//go:build deps

// Package deps pins the project's chosen dependencies in go.mod before every
// package that uses them exists. It is never built.
package deps

import (
	_ "github.com/alecthomas/participle/v2"
	_ "github.com/cilium/ebpf"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/sys/unix"
	_ "gopkg.in/yaml.v3"
)
