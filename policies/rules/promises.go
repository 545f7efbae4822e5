package rules

import (
	"fmt"

	securityapi "istio.io/api/security/v1beta1"
	netv1 "k8s.io/api/networking/v1"
)

// Stack is what the pack knows of the stack it checks: its stage and mesh mode, from the stack's
// configuration. Known is false when the stage cannot be told (then only the object rules run).
type Stack struct {
	Known   bool
	Stage   int
	Ambient bool
}

// The namespaces whose objects carry the stages' promises (the program's own names: a test holds
// them to the components' constants).
const (
	istioNamespace    = "istio-system"
	ingressNamespace  = "istio-ingress"
	bookinfoNamespace = "bookinfo"
	egressNamespace   = "istio-egress"
)

// promise is one stage's promise as objects that must be in the stack.
type promise struct {
	stage int
	what  string
	kept  func(objs []Object, s Stack) bool
}

var promises = []promise{
	{3, "STRICT mutual TLS mesh-wide: a PeerAuthentication in " + istioNamespace + " with mtls.mode STRICT", func(objs []Object, _ Stack) bool {
		return anyObject(objs, "security.istio.io", "PeerAuthentication", istioNamespace, func(o Object) bool {
			mtls, _ := field(o.Fields, "spec", "mtls").(map[string]any)
			return mtls["mode"] == "STRICT"
		})
	}},
	{4, "a token at the ingress: a RequestAuthentication in " + ingressNamespace, func(objs []Object, _ Stack) bool {
		return anyObject(objs, "security.istio.io", "RequestAuthentication", ingressNamespace, func(Object) bool { return true })
	}},
	{5, "deny by default: an ALLOW AuthorizationPolicy without rules in " + bookinfoNamespace, func(objs []Object, _ Stack) bool {
		return anyObject(objs, "security.istio.io", "AuthorizationPolicy", bookinfoNamespace, func(o Object) bool {
			ap, ok := authorizationPolicy(o)
			return ok && ap.Spec.GetAction() == securityapi.AuthorizationPolicy_ALLOW && len(ap.Spec.GetRules()) == 0
		})
	}},
	{6, "egress only to registered hosts: a ServiceEntry in " + egressNamespace + ", and REGISTRY_ONLY (sidecar mode: a Sidecar in " + istioNamespace +
		"; ambient mode: an egress NetworkPolicy in " + bookinfoNamespace + ")", func(objs []Object, s Stack) bool {
		registered := anyObject(objs, "networking.istio.io", "ServiceEntry", egressNamespace, func(Object) bool { return true })
		if s.Ambient {
			return registered && anyObject(objs, "networking.k8s.io", "NetworkPolicy", bookinfoNamespace, func(o Object) bool {
				var np netv1.NetworkPolicy
				return o.Decode(&np) == nil && hasPolicyType(np, netv1.PolicyTypeEgress)
			})
		}
		return registered && anyObject(objs, "networking.istio.io", "Sidecar", istioNamespace, func(o Object) bool {
			policy, _ := field(o.Fields, "spec", "outboundTrafficPolicy").(map[string]any)
			return policy["mode"] == "REGISTRY_ONLY"
		})
	}},
	{7, "default deny below the mesh: a NetworkPolicy in " + bookinfoNamespace + " selecting every pod, for ingress and egress, allowing nothing", func(objs []Object, _ Stack) bool {
		return anyObject(objs, "networking.k8s.io", "NetworkPolicy", bookinfoNamespace, func(o Object) bool {
			var np netv1.NetworkPolicy
			return o.Decode(&np) == nil && len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) == 0 &&
				hasPolicyType(np, netv1.PolicyTypeIngress) && hasPolicyType(np, netv1.PolicyTypeEgress) && len(np.Spec.Ingress)+len(np.Spec.Egress) == 0
		})
	}},
}

// StagePromises is the rule that the stack keeps the promises of its stage and every one before
// it: a preview that drops one fails, even where no object it keeps is wrong.
func StagePromises(s Stack) Rule {
	return Rule{"stage-promises-kept", "The stack holds the objects that keep the promises of its stage and of every stage before it.", true,
		func(objs []Object) []Violation {
			if !s.Known {
				return nil
			}
			var out []Violation
			for _, p := range promises {
				if p.stage <= s.Stage && !p.kept(objs, s) {
					out = append(out, Violation{"", fmt.Sprintf("stage %d promises %s; this stack (stage %d) has none", p.stage, p.what, s.Stage)})
				}
			}
			return out
		}}
}

// anyObject: some object of the kind in namespace satisfies ok, or might once its values are
// known (a Partial one is given the benefit of the doubt: the up checks it again).
func anyObject(objs []Object, group, kind, namespace string, ok func(Object) bool) bool {
	for _, o := range objs {
		if o.Is(group, kind) && (o.Partial || o.Namespace == namespace && ok(o)) {
			return true
		}
	}
	return false
}

func hasPolicyType(np netv1.NetworkPolicy, t netv1.PolicyType) bool {
	for _, p := range np.Spec.PolicyTypes {
		if p == t {
			return true
		}
	}
	return false
}

// field is the value at the path of nested maps, or nil.
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
