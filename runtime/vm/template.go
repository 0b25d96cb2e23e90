package vm

// Template is a compiled output format: literal text and values to print,
// in order. Values are operands of the pool ([Consts.Operands]), evaluated
// with [VM.Operand] and rendered by the runtime's formatter.
type Template struct {
	// Format is the output format the template was compiled from.
	Format   string
	Segments []Segment
}

// Segment is a piece of a [Template]: literal Text when Operand is -1, or
// the value of operand Operand, written Token in the format ("proc.name",
// "toupper(user.name)") and padded on the right to Width.
type Segment struct {
	Text    string
	Operand int32
	Token   string
	Width   int32
}

// Operand returns the value of operand id for the current event (see
// [VM.BeginEvent]), extracting or computing it on first use; the result is
// cached like condition operands. ok is false when the value is missing,
// or when id is out of range. The returned value is valid until the next
// event.
func (m *VM) Operand(env Env, id int) (v Value, ok bool) {
	if id < 0 || id >= len(m.slots) {
		return Value{}, false
	}
	defer func() {
		if recover() != nil {
			v, ok = Value{}, false
		}
	}()
	p, ok := m.load(env, id)
	if !ok {
		return Value{}, false
	}
	return *p, true
}
