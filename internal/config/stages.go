package config

import "strconv"

// Stage is a workshop stage; stage N puts stages 0..N in force. What each stage is and does is
// the stage registry's (package stages): this package knows only that stages are numbered.
type Stage int

// Includes reports whether stage s puts stage other in force (stages are cumulative).
func (s Stage) Includes(other Stage) bool { return other <= s }

// Rules are what the stage registry adds to Load: the highest stage there is, and the checks of
// the stages a configuration puts in force (settings with which a stage cannot keep its promise).
type Rules struct {
	Last  Stage
	Check func(c Config) []FieldError
}

// StageSetting is the stage key's description once the registry's last stage is known.
func StageSetting(last Stage) Setting {
	return Setting{"stage", "", "an integer 0–" + strconv.Itoa(int(last)) + " (default: N for stack stepN; a stack of another name must set it)", "the highest stage to put in force"}
}
