package config

import (
	"fmt"
	"strings"
)

// FieldError is one bad setting: the key, the value given and what to do about it.
type FieldError struct {
	Key, Value, Problem string
}

func (e FieldError) Error() string {
	key := e.Key
	if !strings.Contains(key, ":") { // a workshop setting; a key of another namespace comes whole
		key = Namespace + ":" + key
	}
	if e.Value == "" {
		return fmt.Sprintf("%s %s", key, e.Problem)
	}
	return fmt.Sprintf("%s: %q %s", key, e.Value, e.Problem)
}

// Errors is every problem found in a stack's configuration.
type Errors []FieldError

func (es *Errors) add(key, value, problem string) {
	*es = append(*es, FieldError{Key: key, Value: value, Problem: problem})
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = "  - " + e.Error()
	}
	return fmt.Sprintf("invalid stack configuration (%d problem(s); nothing was changed):\n%s", len(es), strings.Join(lines, "\n"))
}

// Keys lists the keys that have problems, in order.
func (es Errors) Keys() []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}
