package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// objectName is a Kubernetes object's namespace/name from its inputs ("" when it has none).
func objectName(inputs map[string]any) string {
	meta, _ := inputs["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return ""
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}

// fieldChanges lists each input path the step changes, with its old and new value: Pulumi's
// detailed diff where the provider gives one, else the top-level keys that changed.
func fieldChanges(m apitype.StepEventMetadata, old, new map[string]any) []FieldChange {
	kinds := map[string]string{}
	for path, d := range m.DetailedDiff {
		kinds[path] = string(d.Kind)
	}
	if len(kinds) == 0 {
		for _, k := range m.Diffs {
			kinds[k] = "update"
		}
	}
	var out []FieldChange
	for _, path := range slices.Sorted(maps.Keys(kinds)) {
		out = append(out, FieldChange{Path: path, Kind: kinds[path], Old: valueAt(old, path), New: valueAt(new, path)})
	}
	return out
}

// maxValue bounds how much of one value a diff line shows.
const maxValue = 160

// valueAt is the compact JSON of the value at path in inputs ("" when there is none).
func valueAt(inputs map[string]any, path string) string {
	pp, err := resource.ParsePropertyPath(path)
	if err != nil || inputs == nil {
		return ""
	}
	v, ok := pp.Get(resource.NewPropertyValue(inputs))
	if !ok || v.IsNull() {
		return ""
	}
	raw, err := json.Marshal(v.Mappable())
	if err != nil {
		return fmt.Sprint(v.Mappable())
	}
	if len(raw) > maxValue {
		return string(raw[:maxValue]) + "…"
	}
	return string(raw)
}

// policyCollector gathers the policy pack's events into a Policy.
type policyCollector struct {
	mu    sync.Mutex
	into  *Policy
	rules map[string]bool
}

func newPolicyCollector(into *Policy) *policyCollector {
	return &policyCollector{into: into, rules: map[string]bool{}}
}

func (c *policyCollector) add(e events.EngineEvent) {
	if c.into == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := e.PolicyAnalyzeSummaryEvent; s != nil {
		c.into.Pack = s.PolicyPackName
		for _, r := range append(s.Passed, s.Failed...) {
			c.rules[r] = true
		}
	}
	if v := e.PolicyEvent; v != nil {
		c.into.Pack = v.PolicyPackName
		c.rules[v.PolicyName] = true
		on := "the stack"
		if v.ResourceURN != "" {
			on = Step{URN: v.ResourceURN}.Name()
		}
		c.into.Violations = append(c.into.Violations, fmt.Sprintf("%s %s: %s (%s)", v.EnforcementLevel, v.PolicyName, strings.TrimSpace(v.Message), on))
	}
}

func (c *policyCollector) done() {
	if c.into == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.into.Rules = slices.Sorted(maps.Keys(c.rules))
}
