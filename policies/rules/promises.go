package rules

import (
	"fmt"

	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Object and Stack are the objects package's: the rules judge them.
type (
	Object = objects.Object
	Stack  = objects.Stack
)

// StagePromises is the rule that the stack keeps the promises of its stage and every one before
// it (each stage's file declares its own, as objects the stack must hold): a preview that drops
// one fails, even where no object it keeps is wrong.
func StagePromises(s Stack, promises []objects.Promise) Rule {
	return Rule{"stage-promises-kept", "The stack holds the objects that keep the promises of its stage and of every stage before it.", true,
		func(objs []Object) []Violation {
			if !s.Known {
				return nil
			}
			var out []Violation
			for _, p := range promises {
				if p.Stage <= s.Stage && !p.Kept(objs, s) {
					out = append(out, Violation{"", fmt.Sprintf("stage %d promises %s; this stack (stage %d) has none", p.Stage, p.What, s.Stage)})
				}
			}
			return out
		}}
}
