package rules

import (
	"context"

	"github.com/blang/semver"
	"github.com/istio-workshop/istio-workshop/policies/objects"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// PackName is the policy pack's name in Pulumi's output.
const PackName = "istio-workshop"

// Pack is the policy pack for stack s, with the stages' promises: every rule as a stack policy, since several need the whole
// stack (which namespaces are ambient, which policies pair up, which promises are kept) and all
// read the same objects.
func Pack(s Stack, promises []objects.Promise) (policyx.PolicyPack, error) {
	all := append(append([]Rule{}, Rules...), StagePromises(s, promises))
	policies := make([]policyx.Policy, 0, len(all))
	for _, r := range all {
		level := policyx.EnforcementLevelAdvisory
		if r.Mandatory {
			level = policyx.EnforcementLevelMandatory
		}
		policies = append(policies, policyx.NewStackValidationPolicy(r.Name, policyx.StackValidationPolicyArgs{
			Description:      r.Description,
			EnforcementLevel: level,
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
				for _, v := range r.Check(analyzed(args.Resources)) {
					args.Manager.ReportViolation(v.Message, v.URN)
				}
				return nil
			},
		}))
	}
	return policyx.NewPolicyPack(PackName, semver.MustParse("1.0.0"), policyx.EnforcementLevelMandatory, policies)
}

// analyzed are the Kubernetes objects among a preview's resources.
func analyzed(resources []policyx.AnalyzerResource) []Object {
	out := make([]Object, 0, len(resources))
	for _, r := range resources {
		if o, ok := objects.NewObject(r.URN, r.Type, objects.Plain(r.Properties)); ok {
			// A new stack's preview, on a cluster not made yet, gives no property at all.
			o.Partial = r.Properties.Len() == 0 || objects.HasUnknowns(r.Properties)
			out = append(out, o)
		}
	}
	return out
}
