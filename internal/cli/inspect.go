package cli

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/vm"
)

// InspectOptions are the options of `falcoc inspect`.
type InspectOptions struct {
	Path string

	out io.Writer
}

func newCmdInspect(s Streams) *cobra.Command {
	o := &InspectOptions{}
	c := &cobra.Command{
		Use:   "inspect FILE.fbc",
		Short: "Print the content of an artifact",
		Long: "Print everything an artifact holds: its header, each rule with its condition\n" +
			"as written, as compiled and as bytecode, the constant pool, the field and\n" +
			"operand tables, the syscall set and the prefilter section.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	return c
}

// Complete fills the options from the command.
func (o *InspectOptions) Complete(cmd *cobra.Command, args []string) error {
	o.out = cmd.OutOrStdout()
	if len(args) > 0 {
		o.Path = args[0]
	}
	return nil
}

// Validate checks the options.
func (o *InspectOptions) Validate() error {
	if o.Path == "" {
		return fmt.Errorf("no artifact given")
	}
	return nil
}

// Run reads the artifact and prints it.
func (o *InspectOptions) Run() error {
	data, err := os.ReadFile(o.Path)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	a, err := artifact.Read(data)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("%s: %w", o.Path, err)}
	}
	h, _ := artifact.ReadHeader(data) // Read checked it
	_, err = io.WriteString(o.out, formatArtifact(h, a))
	return err
}

// formatArtifact renders a for `falcoc inspect`.
func formatArtifact(h artifact.Header, a *artifact.Artifact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "header\n")
	fmt.Fprintf(&b, "  magic            %s\n", artifact.Magic)
	fmt.Fprintf(&b, "  format version   %d\n", h.Version)
	fmt.Fprintf(&b, "  compiler         %s\n", a.CompilerVersion)
	fmt.Fprintf(&b, "  engine version   %s\n", a.EngineVersion)
	fmt.Fprintf(&b, "  body             %d bytes\n", h.BodyLen)
	fmt.Fprintf(&b, "  sha256           %s\n", hex.EncodeToString(h.Checksum[:]))

	fmt.Fprintf(&b, "\nrules (%d)\n", len(a.Rules))
	for i := range a.Rules {
		inspectRule(&b, i, &a.Rules[i])
	}
	inspectPool(&b, a.Consts)
	fmt.Fprintf(&b, "\nsyscalls (%d)\n", len(a.Syscalls))
	if len(a.Syscalls) > 0 {
		fmt.Fprintf(&b, "  %s\n", strings.Join(a.Syscalls, " "))
	}
	b.WriteString("\nprefilter\n")
	if err := describePlan(&b, a); err != nil {
		fmt.Fprintf(&b, "  %v\n", err)
	}
	return b.String()
}

// inspectRule renders rule i with its bytecode.
func inspectRule(b *strings.Builder, i int, r *artifact.Rule) {
	fmt.Fprintf(b, "\nrule %d: %s\n", i, r.Name)
	if r.File != "" {
		fmt.Fprintf(b, "  defined    %s:%d\n", r.File, r.Line)
	}
	fmt.Fprintf(b, "  priority   %s\n", rules.Priority(r.Priority))
	fmt.Fprintf(b, "  source     %s\n", r.Source)
	fmt.Fprintf(b, "  enabled    %v\n", r.Enabled)
	if len(r.Tags) > 0 {
		fmt.Fprintf(b, "  tags       %s\n", strings.Join(r.Tags, ", "))
	}
	if r.Desc != "" {
		fmt.Fprintf(b, "  desc       %s\n", oneLine(r.Desc))
	}
	if r.EventTypes == nil {
		fmt.Fprintf(b, "  evt.type   (all)\n")
	} else {
		fmt.Fprintf(b, "  evt.type   (%s)\n", strings.Join(r.EventTypes, ", "))
	}
	fmt.Fprintf(b, "  output     %s\n", oneLine(r.Output))
	fmt.Fprintf(b, "  condition  %s\n", oneLine(r.Condition))
	fmt.Fprintf(b, "  compiled   %s\n", r.Compiled)
	if len(r.Template.Segments) > 0 {
		fmt.Fprintf(b, "  template  ")
		for _, s := range r.Template.Segments {
			if s.Operand < 0 {
				fmt.Fprintf(b, " %q", s.Text)
			} else {
				w := ""
				if s.Width > 0 {
					w = strconv.Itoa(int(s.Width))
				}
				fmt.Fprintf(b, " %%%s{%d:%s}", w, s.Operand, s.Token)
			}
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(b, "  bytecode\n")
	for _, l := range strings.SplitAfter(r.Program.Disassemble(), "\n") {
		if l != "" {
			b.WriteString("    " + l)
		}
	}
}

// inspectPool renders the field and operand tables and the constants.
func inspectPool(b *strings.Builder, c *vm.Consts) {
	fmt.Fprintf(b, "\nfields (%d)\n", len(c.Fields))
	w := tabwriter.NewWriter(b, 0, 4, 1, ' ', 0)
	for i, f := range c.Fields {
		fmt.Fprintf(w, "  %d\t%s\n", i, f)
	}
	w.Flush()
	fmt.Fprintf(b, "\noperands (%d)\n", len(c.Operands))
	for i := range c.Operands {
		fmt.Fprintf(w, "  %d\t%s\n", i, c.OperandString(i))
	}
	w.Flush()

	fmt.Fprintf(b, "\nconstants\n")
	inspectTable(b, "strings", c.Strings, strconv.Quote)
	inspectTable(b, "bytes", c.Bytes, func(v []byte) string { return fmt.Sprintf("%q", v) })
	inspectTable(b, "ints", c.Ints, func(v int64) string { return strconv.FormatInt(v, 10) })
	inspectTable(b, "uints", c.Uints, func(v uint64) string { return strconv.FormatUint(v, 10) })
	inspectTable(b, "floats", c.Floats, func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) })
	inspectTable(b, "addrs", c.Addrs, netip.Addr.String)
	inspectTable(b, "nets", c.Nets, netip.Prefix.String)
	inspectTable(b, "string sets", c.StrSets, func(v []string) string { return inspectList(v, strconv.Quote) })
	inspectTable(b, "int sets", c.IntSets, func(v []int64) string {
		return inspectList(v, func(x int64) string { return strconv.FormatInt(x, 10) })
	})
	inspectTable(b, "uint sets", c.UintSets, func(v []uint64) string {
		return inspectList(v, func(x uint64) string { return strconv.FormatUint(x, 10) })
	})
	inspectTable(b, "addr sets", c.AddrSets, func(v []netip.Addr) string { return inspectList(v, netip.Addr.String) })
	inspectTable(b, "net sets", c.NetSets, func(v []netip.Prefix) string { return inspectList(v, netip.Prefix.String) })
	inspectTable(b, "globs", c.Globs, strconv.Quote)
	inspectTable(b, "regexes", c.Regexes, strconv.Quote)
	inspectTable(b, "prefix trees", c.PrefixTrees, func(v []string) string { return inspectList(v, strconv.Quote) })
	inspectTable(b, "dynamic comparisons", c.Dyns, func(d vm.Dyn) string { return d.Op.String() + " " + strconv.Quote(d.Text) })
	inspectTable(b, "modifiers", c.Mods, func(m vm.Mod) string {
		return m.Op.String() + " " + inspectList(m.Args, func(x int32) string { return strconv.Itoa(int(x)) })
	})
}

func inspectTable[T any](b *strings.Builder, name string, vals []T, show func(T) string) {
	if len(vals) == 0 {
		return
	}
	fmt.Fprintf(b, "  %s (%d)\n", name, len(vals))
	for i, v := range vals {
		fmt.Fprintf(b, "    %-4d %s\n", i, show(v))
	}
}

func inspectList[T any](vals []T, show func(T) string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = show(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// oneLine folds a multi-line YAML value onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
