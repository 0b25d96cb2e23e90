package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// FieldsOptions are the options of `falcoc fields`.
type FieldsOptions struct {
	JSON   bool
	Source string
	// NamesOnly prints the field names alone, one a line (falco-run -N).
	NamesOnly bool
	// Markdown prints a Markdown table per class (falco-run --markdown).
	Markdown bool

	out io.Writer
}

func newCmdFields(s Streams) *cobra.Command {
	o := &FieldsOptions{}
	c := &cobra.Command{
		Use:   "fields",
		Short: "List the fields rule conditions and outputs can use",
		Long: "List the fields of the condition language, grouped by class, with their type,\n" +
			"the argument they take and a description. Hidden fields are not listed.",
		Args: cobra.NoArgs,
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
	c.Flags().BoolVar(&o.JSON, "json", false, "print the fields as a JSON array with every property")
	c.Flags().StringVar(&o.Source, "source", "", "only list the fields of this event source (syscall or k8s_audit)")
	return c
}

// Complete fills the options from the command.
func (o *FieldsOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.out = cmd.OutOrStdout()
	return nil
}

// Validate checks the options.
func (o *FieldsOptions) Validate() error {
	switch o.Source {
	case "", catalog.SourceSyscall, catalog.SourceK8sAudit:
		return nil
	}
	return fmt.Errorf("invalid --source %q: want %s or %s", o.Source, catalog.SourceSyscall, catalog.SourceK8sAudit)
}

// fieldJSON is the JSON form of a catalog field.
type fieldJSON struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	List        bool     `json:"list"`
	Arg         string   `json:"arg"`
	ArgRequired bool     `json:"arg_required"`
	Flags       []string `json:"flags"`
	Class       string   `json:"class"`
	Source      string   `json:"source"`
	Description string   `json:"description"`
}

// Run prints the fields.
func (o *FieldsOptions) Run() error {
	var fields []*catalog.Field
	for _, f := range catalog.Fields() {
		if f.Flags&catalog.FlagHidden != 0 || (o.Source != "" && f.Source != o.Source) {
			continue
		}
		fields = append(fields, f)
	}
	switch {
	case o.NamesOnly:
		for _, f := range fields {
			if _, err := fmt.Fprintln(o.out, f.Name); err != nil {
				return fmt.Errorf("write fields: %w", err)
			}
		}
		return nil
	case o.JSON:
		return o.printJSON(fields)
	case o.Markdown:
		return o.printMarkdown(fields)
	}
	return o.printText(fields)
}

func (o *FieldsOptions) printJSON(fields []*catalog.Field) error {
	out := make([]fieldJSON, 0, len(fields))
	for _, f := range fields {
		flags := f.Flags.Names()
		if flags == nil {
			flags = []string{}
		}
		arg := ""
		if f.Arg != catalog.ArgNone {
			arg = argKindName(f.Arg)
		}
		out = append(out, fieldJSON{
			Name:        f.Name,
			Type:        f.Type.String(),
			List:        f.Flags&catalog.FlagList != 0,
			Arg:         arg,
			ArgRequired: f.Arg.Required(),
			Flags:       flags,
			Class:       f.Class,
			Source:      f.Source,
			Description: f.Desc,
		})
	}
	enc := json.NewEncoder(o.out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write fields: %w", err)
	}
	return nil
}

// argKindName is the short JSON name of an argument kind.
func argKindName(a catalog.ArgKind) string {
	switch a {
	case catalog.ArgIndexOptional, catalog.ArgIndexRequired:
		return "index"
	case catalog.ArgKeyOptional, catalog.ArgKeyRequired:
		return "key"
	case catalog.ArgIndexOrKeyRequired, catalog.ArgIndexOrKeyOptional:
		return "index_or_key"
	}
	return "invalid"
}

// argUsage shows how a field takes its argument, e.g. "[N]" or "[KEY], .KEY".
func argUsage(f *catalog.Field) string {
	var s string
	switch f.Arg {
	case catalog.ArgNone:
		return ""
	case catalog.ArgIndexOptional, catalog.ArgIndexRequired:
		s = "[N]"
	case catalog.ArgKeyOptional, catalog.ArgKeyRequired:
		s = "[KEY]"
	default:
		s = "[N|KEY]"
	}
	if f.Flags&catalog.FlagDotArg != 0 {
		s += " or .KEY"
	}
	if f.Arg.Required() {
		return s + " (required)"
	}
	return s + " (optional)"
}

// byClass groups fields by class, classes in the order they first
// appear in the catalog.
func byClassOrder(fields []*catalog.Field) ([]string, map[string][]*catalog.Field) {
	var classes []string
	byClass := map[string][]*catalog.Field{}
	for _, f := range fields {
		if _, ok := byClass[f.Class]; !ok {
			classes = append(classes, f.Class)
		}
		byClass[f.Class] = append(byClass[f.Class], f)
	}
	return classes, byClass
}

func fieldType(f *catalog.Field) string {
	if f.Flags&catalog.FlagList != 0 {
		return "LIST(" + f.Type.String() + ")"
	}
	return f.Type.String()
}

// printMarkdown prints one Markdown table per class, the layout of
// Falco's --list --markdown.
func (o *FieldsOptions) printMarkdown(fields []*catalog.Field) error {
	classes, byClass := byClassOrder(fields)
	var b strings.Builder
	for _, class := range classes {
		fs := byClass[class]
		fmt.Fprintf(&b, "## Field Class: %s\n\nSource: %s\n\n", class, fs[0].Source)
		b.WriteString("Name | Type | Description\n:----|:-----|:-----------\n")
		for _, f := range fs {
			desc := strings.ReplaceAll(f.Desc, "|", "\\|")
			if f.Flags&catalog.FlagDeprecated != 0 {
				desc += " (deprecated)"
			}
			fmt.Fprintf(&b, "`%s` | %s | %s\n", f.Name, fieldType(f), desc)
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(o.out, b.String()); err != nil {
		return fmt.Errorf("write fields: %w", err)
	}
	return nil
}

func (o *FieldsOptions) printText(fields []*catalog.Field) error {
	classes, byClass := byClassOrder(fields)
	tw := tabwriter.NewWriter(o.out, 0, 4, 2, ' ', 0)
	for i, class := range classes {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fs := byClass[class]
		fmt.Fprintf(tw, "Field class: %s (source %s)\n\n", class, fs[0].Source)
		fmt.Fprintf(tw, "NAME\tTYPE\tARGUMENT\tDESCRIPTION\n")
		for _, f := range fs {
			typ := f.Type.String()
			if f.Flags&catalog.FlagList != 0 {
				typ = "LIST(" + typ + ")"
			}
			desc := f.Desc
			if f.Flags&catalog.FlagDeprecated != 0 {
				desc += " (deprecated)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, typ, argUsage(f), desc)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write fields: %w", err)
	}
	return nil
}
