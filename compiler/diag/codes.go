package diag

// Falco's load-result error codes.
const (
	ErrFileRead         = "LOAD_ERR_FILE_READ"
	ErrYAMLParse        = "LOAD_ERR_YAML_PARSE"
	ErrYAMLValidate     = "LOAD_ERR_YAML_VALIDATE"
	ErrCompileCondition = "LOAD_ERR_COMPILE_CONDITION"
	ErrCompileOutput    = "LOAD_ERR_COMPILE_OUTPUT"
	ErrValidate         = "LOAD_ERR_VALIDATE"
	ErrExtension        = "LOAD_ERR_EXTENSION"
)

// Falco's load-result warning codes.
const (
	WarnUnknownSource      = "LOAD_UNKNOWN_SOURCE"
	WarnUnsafeNACheck      = "LOAD_UNSAFE_NA_CHECK"
	WarnNoEvttype          = "LOAD_NO_EVTTYPE"
	WarnUnknownFilter      = "LOAD_UNKNOWN_FILTER"
	WarnUnusedMacro        = "LOAD_UNUSED_MACRO"
	WarnUnusedList         = "LOAD_UNUSED_LIST"
	WarnUnknownItem        = "LOAD_UNKNOWN_ITEM"
	WarnDeprecatedItem     = "LOAD_DEPRECATED_ITEM"
	WarnExtension          = "LOAD_WARNING_EXTENSION"
	WarnAppendNoValues     = "LOAD_APPEND_NO_VALUES"
	WarnExceptionNotUnique = "LOAD_EXCEPTION_NAME_NOT_UNIQUE"
	WarnInvalidMacroName   = "LOAD_INVALID_MACRO_NAME"
	WarnInvalidListName    = "LOAD_INVALID_LIST_NAME"
	WarnCompileCondition   = "LOAD_COMPILE_CONDITION"
	WarnUnknownKey         = "LOAD_UNKNOWN_KEY"
)

// codeDesc maps every code to the description Falco prints next to it
// ("codedesc" in the JSON form).
var codeDesc = map[string]string{
	ErrFileRead:         "File read error",
	ErrYAMLParse:        "YAML parse error",
	ErrYAMLValidate:     "Error validating internal structure of YAML file",
	ErrCompileCondition: "Error compiling condition",
	ErrCompileOutput:    "Error compiling output",
	ErrValidate:         "Error validating rule/macro/list/exception objects",
	ErrExtension:        "Error in extension item",

	WarnUnknownSource:      "Unknown event source",
	WarnUnsafeNACheck:      "Unsafe <NA> comparison in condition",
	WarnNoEvttype:          "No event types in condition",
	WarnUnknownFilter:      "Unknown field or event-type in condition or output",
	WarnUnusedMacro:        "A macro is defined in the rules content but is not used by any other macro or rule.",
	WarnUnusedList:         "A list is defined in the rules content but is not used by any other list, macro, or rule.",
	WarnUnknownItem:        "Unknown rules file item",
	WarnDeprecatedItem:     "Used deprecated item",
	WarnExtension:          "Warning in extension item",
	WarnAppendNoValues:     "Overriding/appending with no values",
	WarnExceptionNotUnique: "Multiple exceptions defined with the same name",
	WarnInvalidMacroName:   "Invalid macro name",
	WarnInvalidListName:    "Invalid list name",
	WarnCompileCondition:   "A rule condition or output have been parsed with a warning",
	WarnUnknownKey:         "Unknown key in item definition",
}

// CodeDesc returns Falco's description of a load-result code, or the code
// itself when it is not known.
func CodeDesc(code string) string {
	if s, ok := codeDesc[code]; ok {
		return s
	}
	return code
}
