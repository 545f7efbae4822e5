package rules

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	networkingapi "istio.io/api/networking/v1"
	securityapi "istio.io/api/security/v1beta1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	security "istio.io/client-go/pkg/apis/security/v1"
	netv1 "k8s.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// Violation is one broken rule: the object (its URN) and what to do.
type Violation struct {
	URN     string
	Message string
}

// Rule is one best practice. Mandatory rules guard a stage's own promise: a preview that breaks
// one fails.
type Rule struct {
	Name        string
	Description string
	Mandatory   bool
	Check       func(objs []Object) []Violation
}

// Rules is the pack, in the order a reader meets the stages.
var Rules = []Rule{
	{"images-pinned", "Every container image names a tag other than latest, or a digest: what was reviewed is what runs.", true, eachObject(imagesPinned)},
	{"no-key-or-token-outside-secrets", "Private keys and JWTs live in Secrets (and Pulumi secrets), never in ConfigMaps, env values or custom resources.", true, eachObject(noKeyOrToken)},
	{"gateway-tls-1-2", "A gateway that terminates TLS accepts TLS 1.2 or newer only (minProtocolVersion TLSV1_2 or TLSV1_3).", true, eachObject(gatewayTLS)},
	{"gateway-no-plain-http-beside-https", "A gateway that serves HTTPS does not also serve plain HTTP: redirect it (httpsRedirect) or close it.", true, eachObject(gatewayPlainHTTP)},
	{"peer-authentication-strict", "PeerAuthentication never lowers mutual TLS to PERMISSIVE or DISABLE (stage 3 promises STRICT mesh-wide).", true, eachObject(peerAuthStrict)},
	{"authorization-no-allow-everything", "An ALLOW AuthorizationPolicy has no empty rule: {} matches every request and silently undoes deny-by-default.", true, eachObject(noAllowEverything)},
	{"request-authentication-requires-a-principal", "A RequestAuthentication is paired with an AuthorizationPolicy that requires a request principal: alone it lets requests without a token through.", true, requestAuthPaired},
	{"jwks-over-https", "A RequestAuthentication fetches its JWKS over https, or carries it inline: keys fetched in plain text can be swapped.", true, eachObject(jwksOverHTTPS)},
	{"dry-run-on-envoy-only", "In ambient mode a dry-run AuthorizationPolicy targets a waypoint or Service: ztunnel enforces or ignores istio.io/dry-run depending on the release.", true, dryRunOnEnvoy},
	{"outbound-registry-only", "No Sidecar allows any outbound host (ALLOW_ANY): one object alone would open egress around the registry and the egress gateway.", true, outboundRegistryOnly},
	{"destination-rule-keeps-mesh-tls", "A DestinationRule never turns TLS off (mode DISABLE) to a host inside the mesh: that sends plaintext where STRICT mTLS promises otherwise.", true, eachObject(destinationRuleKeepsTLS)},
	{"ingress-terminates-tls", "The ingress terminates TLS itself (no PASSTHROUGH server, no Passthrough listener): passed through, the mesh cannot check a token or a policy on the request.", true, eachObject(ingressTerminatesTLS)},
	{"service-entry-names-hosts", "A ServiceEntry names its hosts: host \"*\" registers every host at once and undoes the egress allowlist.", true, eachObject(serviceEntryNamesHosts)},
	{"jwt-not-forwarded", "A RequestAuthentication does not forward the original token upstream (forwardOriginalToken): workloads that need a claim get it as a header, and a token that travels further can be replayed.", true, eachObject(jwtNotForwarded)},
	{"route-weights-sum-to-100", "A VirtualService route that shares its requests between destinations gives them weights adding up to 100: otherwise Istio refuses it, or a canary gets a share nobody reviewed.", true, eachObject(routeWeights)},
	{"retries-have-a-per-try-timeout", "A VirtualService route that retries bounds each try (perTryTimeout): a try that hangs would otherwise hold the request, and the retries never come.", true, eachObject(retriesBounded)},
	{"faults-for-a-match-only", "A VirtualService route that injects a fault matches something (a header, a test persona): a fault without a match breaks the service for everyone.", true, eachObject(faultsMatched)},
	{"ambient-network-policy-allows-hbone", "In ambient mode a NetworkPolicy rule that admits pods on named ports includes HBONE (TCP 15008), where ztunnel carries all mesh traffic.", true, ambientHBONE},
}

func eachObject(check func(Object) []string) func([]Object) []Violation {
	return func(objs []Object) []Violation {
		var out []Violation
		for _, o := range objs {
			for _, msg := range check(o) {
				out = append(out, Violation{o.URN, o.Ref() + ": " + msg})
			}
		}
		return out
	}
}

// podSpecKeys hold container lists wherever a workload kind nests its pod template.
var podSpecKeys = []string{"containers", "initContainers", "ephemeralContainers"}

func imagesPinned(o Object) []string {
	var out []string
	walk(o.Fields, func(key string, v any) {
		for _, k := range podSpecKeys {
			if key != k {
				continue
			}
			list, _ := v.([]any)
			for _, c := range list {
				c, _ := c.(map[string]any)
				image, _ := c["image"].(string)
				if image != "" && !pinned(image) {
					out = append(out, fmt.Sprintf("container %v runs image %q: pin a tag (not latest) or a digest", c["name"], image))
				}
			}
		}
	})
	return out
}

// pinned: a digest, or a tag that is not latest (the last ':' after the last '/'). "auto" is
// Istio's gateway chart asking the injector for its own pinned proxy image.
func pinned(image string) bool {
	if image == "auto" || strings.Contains(image, "@sha256:") {
		return true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

var (
	privateKey = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	jwt        = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)
)

func noKeyOrToken(o Object) []string {
	if o.Is("", "Secret") {
		return nil
	}
	var out []string
	walk(o.Fields, func(key string, v any) {
		s, ok := v.(string)
		if raw, err := base64.StdEncoding.DecodeString(s); ok && err == nil && len(s) >= 16 {
			s = string(raw) // a ConfigMap's binaryData (or any base64 value) hides nothing
		}
		switch {
		case !ok:
		case privateKey.MatchString(s):
			out = append(out, fmt.Sprintf("field %q holds a private key: keep it in a Secret", key))
		case jwt.MatchString(s):
			out = append(out, fmt.Sprintf("field %q holds a JWT: keep it in a Secret", key))
		}
	})
	return out
}

func gatewayTLS(o Object) []string {
	var gw networking.Gateway
	if !o.Is("networking.istio.io", "Gateway") || o.Decode(&gw) != nil {
		return nil
	}
	var out []string
	for _, s := range gw.Spec.Servers {
		if !terminatesTLS(s) {
			continue
		}
		if v := s.GetTls().GetMinProtocolVersion(); v != networkingapi.ServerTLSSettings_TLSV1_2 && v != networkingapi.ServerTLSSettings_TLSV1_3 {
			out = append(out, fmt.Sprintf("server %q accepts TLS below 1.2 (minProtocolVersion %s): set TLSV1_2", s.GetPort().GetName(), v))
		}
	}
	return out
}

func terminatesTLS(s *networkingapi.Server) bool {
	switch s.GetTls().GetMode() {
	case networkingapi.ServerTLSSettings_SIMPLE, networkingapi.ServerTLSSettings_MUTUAL, networkingapi.ServerTLSSettings_OPTIONAL_MUTUAL:
		return s.GetTls().GetCredentialName() != "" || s.GetTls().GetServerCertificate() != "" || len(s.GetTls().GetCredentialNames()) > 0
	}
	return false
}

func gatewayPlainHTTP(o Object) []string {
	var gw networking.Gateway
	if !o.Is("networking.istio.io", "Gateway") || o.Decode(&gw) != nil {
		return nil
	}
	https := false
	for _, s := range gw.Spec.Servers {
		https = https || terminatesTLS(s)
	}
	var out []string
	for _, s := range gw.Spec.Servers {
		if https && strings.EqualFold(s.GetPort().GetProtocol(), "HTTP") && !s.GetTls().GetHttpsRedirect() {
			out = append(out, fmt.Sprintf("server %q serves plain HTTP beside HTTPS: set tls.httpsRedirect or remove it", s.GetPort().GetName()))
		}
	}
	return out
}

func peerAuthStrict(o Object) []string {
	var pa security.PeerAuthentication
	if !o.Is("security.istio.io", "PeerAuthentication") || o.Decode(&pa) != nil {
		return nil
	}
	weak := func(m *securityapi.PeerAuthentication_MutualTLS) bool {
		return m.GetMode() == securityapi.PeerAuthentication_MutualTLS_PERMISSIVE || m.GetMode() == securityapi.PeerAuthentication_MutualTLS_DISABLE
	}
	var out []string
	if weak(pa.Spec.GetMtls()) {
		out = append(out, fmt.Sprintf("mode %s accepts plaintext: use STRICT", pa.Spec.GetMtls().GetMode()))
	}
	for port, m := range pa.Spec.GetPortLevelMtls() {
		if weak(m) {
			out = append(out, fmt.Sprintf("port %d mode %s accepts plaintext: use STRICT", port, m.GetMode()))
		}
	}
	return out
}

func authorizationPolicy(o Object) (*security.AuthorizationPolicy, bool) {
	var ap security.AuthorizationPolicy
	if !o.Is("security.istio.io", "AuthorizationPolicy") || o.Decode(&ap) != nil {
		return nil, false
	}
	return &ap, true
}

func noAllowEverything(o Object) []string {
	ap, ok := authorizationPolicy(o)
	if !ok || ap.Spec.GetAction() != securityapi.AuthorizationPolicy_ALLOW {
		return nil
	}
	for i, r := range ap.Spec.GetRules() {
		switch {
		case len(r.GetFrom()) == 0 && len(r.GetTo()) == 0 && len(r.GetWhen()) == 0:
			return []string{fmt.Sprintf("rule %d is empty and allows every request: name the sources, operations or conditions", i)}
		case len(r.GetWhen()) == 0 && all(r.GetFrom(), func(f *securityapi.Rule_From) bool { return openSource(f.GetSource()) }) &&
			all(r.GetTo(), func(t *securityapi.Rule_To) bool { return openOperation(t.GetOperation()) }):
			return []string{fmt.Sprintf("rule %d allows every request: its sources and operations are empty, \"*\" or only not-matches; name who and what it allows", i)}
		}
	}
	return nil
}

// openSource names nobody: no positive match (an allow of everyone but the not-matches).
func openSource(s *securityapi.Source) bool {
	return len(s.GetPrincipals())+len(s.GetRequestPrincipals())+len(s.GetNamespaces())+len(s.GetIpBlocks())+len(s.GetRemoteIpBlocks()) == 0
}

// openOperation matches every request: no positive match other than "*".
func openOperation(op *securityapi.Operation) bool {
	for _, list := range [][]string{op.GetHosts(), op.GetPorts(), op.GetMethods(), op.GetPaths()} {
		for _, v := range list {
			if v != "*" {
				return false
			}
		}
	}
	return true
}

func all[T any](list []T, ok func(T) bool) bool {
	for _, v := range list {
		if !ok(v) {
			return false
		}
	}
	return true
}

// inMesh says whether host names a service inside the cluster: a short name, or a name under
// .svc or .cluster.local.
func inMesh(host string) bool {
	return !strings.Contains(host, ".") || config.InCluster(host)
}

func destinationRuleKeepsTLS(o Object) []string {
	var dr networking.DestinationRule
	if !o.Is("networking.istio.io", "DestinationRule") || o.Decode(&dr) != nil || !inMesh(dr.Spec.GetHost()) {
		return nil
	}
	var out []string
	// DISABLE is the enum's zero value: only a tls block that is there turns TLS off.
	disabled := func(t *networkingapi.ClientTLSSettings) bool {
		return t != nil && t.GetMode() == networkingapi.ClientTLSSettings_DISABLE
	}
	check := func(where string, p *networkingapi.TrafficPolicy) {
		if disabled(p.GetTls()) {
			out = append(out, fmt.Sprintf("%s sends plaintext to %s (tls.mode DISABLE): remove it, the mesh's mTLS applies", where, dr.Spec.GetHost()))
		}
		for _, pl := range p.GetPortLevelSettings() {
			if disabled(pl.GetTls()) {
				out = append(out, fmt.Sprintf("%s sends plaintext to %s port %d (tls.mode DISABLE): remove it, the mesh's mTLS applies", where, dr.Spec.GetHost(), pl.GetPort().GetNumber()))
			}
		}
	}
	check("the traffic policy", dr.Spec.GetTrafficPolicy())
	for _, ss := range dr.Spec.GetSubsets() {
		check("subset "+ss.GetName(), ss.GetTrafficPolicy())
	}
	return out
}

// routeWeights: every HTTP route with more than one destination has weights that add up to 100.
func routeWeights(o Object) []string {
	vs, ok := virtualService(o)
	if !ok {
		return nil
	}
	var out []string
	for i, r := range vs.Spec.GetHttp() {
		if len(r.GetRoute()) < 2 {
			continue
		}
		total := int32(0)
		for _, d := range r.GetRoute() {
			total += d.GetWeight()
		}
		if total != 100 {
			out = append(out, fmt.Sprintf("route %s shares its requests with weights adding up to %d: make them add up to 100", routeName(r, i), total))
		}
	}
	return out
}

// virtualService decodes o if it is a VirtualService.
func virtualService(o Object) (*networking.VirtualService, bool) {
	var vs networking.VirtualService
	if !o.Is("networking.istio.io", "VirtualService") || o.Decode(&vs) != nil {
		return nil, false
	}
	return &vs, true
}

// routeName names route i of a VirtualService.
func routeName(r *networkingapi.HTTPRoute, i int) string {
	if r.GetName() != "" {
		return fmt.Sprintf("%q", r.GetName())
	}
	return fmt.Sprint(i)
}

func retriesBounded(o Object) []string {
	vs, ok := virtualService(o)
	if !ok {
		return nil
	}
	var out []string
	for i, r := range vs.Spec.GetHttp() {
		if r.GetRetries().GetAttempts() > 0 && r.GetRetries().GetPerTryTimeout().AsDuration() <= 0 {
			out = append(out, fmt.Sprintf("route %s retries %d times without a perTryTimeout: bound each try", routeName(r, i), r.GetRetries().GetAttempts()))
		}
	}
	return out
}

func faultsMatched(o Object) []string {
	vs, ok := virtualService(o)
	if !ok {
		return nil
	}
	var out []string
	for i, r := range vs.Spec.GetHttp() {
		if r.GetFault() != nil && len(r.GetMatch()) == 0 {
			out = append(out, fmt.Sprintf("route %s injects a fault into every request: match a test persona or header", routeName(r, i)))
		}
	}
	return out
}

// ingressTerminatesTLS: an Istio Gateway on the ingress gateway's pods, or a Gateway API Gateway
// that is not a waypoint, passes no TLS through.
func ingressTerminatesTLS(o Object) []string {
	var out []string
	switch {
	case o.Is("networking.istio.io", "Gateway"):
		var gw networking.Gateway
		if o.Decode(&gw) != nil || !strings.Contains(gw.Spec.GetSelector()["istio"]+gw.Spec.GetSelector()["app"], "ingress") {
			return nil
		}
		for _, srv := range gw.Spec.GetServers() {
			// PASSTHROUGH is the enum's zero value: only a TLS server can pass TLS through.
			if !strings.EqualFold(srv.GetPort().GetProtocol(), "TLS") && !strings.EqualFold(srv.GetPort().GetProtocol(), "HTTPS") {
				continue
			}
			if m := srv.GetTls().GetMode(); m == networkingapi.ServerTLSSettings_PASSTHROUGH || m == networkingapi.ServerTLSSettings_AUTO_PASSTHROUGH {
				out = append(out, fmt.Sprintf("server %q passes TLS through (%s): terminate it at the ingress (SIMPLE or MUTUAL)", srv.GetPort().GetName(), m))
			}
		}
	case o.Is("gateway.networking.k8s.io", "Gateway"):
		spec, _ := o.Fields["spec"].(map[string]any)
		if class, _ := spec["gatewayClassName"].(string); class == "istio-waypoint" {
			return nil
		}
		listeners, _ := spec["listeners"].([]any)
		for _, l := range listeners {
			l, _ := l.(map[string]any)
			tls, _ := l["tls"].(map[string]any)
			if mode, _ := tls["mode"].(string); mode == "Passthrough" {
				out = append(out, fmt.Sprintf("listener %v passes TLS through: use tls.mode Terminate", l["name"]))
			}
		}
	}
	return out
}

func serviceEntryNamesHosts(o Object) []string {
	var se networking.ServiceEntry
	if !o.Is("networking.istio.io", "ServiceEntry") || o.Decode(&se) != nil {
		return nil
	}
	for _, h := range se.Spec.GetHosts() {
		if h == "*" {
			return []string{`host "*" registers every host: name the external hosts the mesh may reach`}
		}
	}
	return nil
}

func jwtNotForwarded(o Object) []string {
	var ra security.RequestAuthentication
	if !o.Is("security.istio.io", "RequestAuthentication") || o.Decode(&ra) != nil {
		return nil
	}
	var out []string
	for _, r := range ra.Spec.GetJwtRules() {
		if r.GetForwardOriginalToken() {
			out = append(out, fmt.Sprintf("issuer %q's tokens are forwarded upstream (forwardOriginalToken): pass the claims a workload needs as headers (outputClaimToHeaders) instead", r.GetIssuer()))
		}
	}
	return out
}

// requestAuthPaired: each namespace with a RequestAuthentication has an AuthorizationPolicy that
// allows only requests with a principal (or denies those without one).
func requestAuthPaired(objs []Object) []Violation {
	required := map[string]bool{}
	for _, o := range objs {
		ap, ok := authorizationPolicy(o)
		if !ok {
			continue
		}
		if o.Partial {
			return nil // this one may be the pairing policy: judged at the up, with its values known
		}
		for _, r := range ap.Spec.GetRules() {
			for _, f := range r.GetFrom() {
				s := f.GetSource()
				if ap.Spec.GetAction() == securityapi.AuthorizationPolicy_ALLOW && len(s.GetRequestPrincipals()) > 0 ||
					ap.Spec.GetAction() == securityapi.AuthorizationPolicy_DENY && len(s.GetNotRequestPrincipals()) > 0 {
					required[o.Namespace] = true
				}
			}
		}
	}
	var out []Violation
	for _, o := range objs {
		if o.Is("security.istio.io", "RequestAuthentication") && !o.Partial && !required[o.Namespace] {
			out = append(out, Violation{o.URN, o.Ref() + ": requests without a token still pass: add an AuthorizationPolicy in " +
				o.Namespace + " that requires a request principal (ALLOW with from.source.requestPrincipals)"})
		}
	}
	return out
}

func jwksOverHTTPS(o Object) []string {
	var ra security.RequestAuthentication
	if !o.Is("security.istio.io", "RequestAuthentication") || o.Decode(&ra) != nil {
		return nil
	}
	var out []string
	for _, r := range ra.Spec.GetJwtRules() {
		if u := r.GetJwksUri(); u != "" && !strings.HasPrefix(u, "https://") {
			out = append(out, fmt.Sprintf("issuer %q's JWKS comes from %q: use https:// or an inline jwks", r.GetIssuer(), u))
		}
	}
	return out
}

// ambientNamespaces are the namespaces the stack enrols in ambient mode.
func ambientNamespaces(objs []Object) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.Is("", "Namespace") && o.Labels["istio.io/dataplane-mode"] == "ambient" {
			out[o.Name] = true
		}
	}
	return out
}

func dryRunOnEnvoy(objs []Object) []Violation {
	ambient := ambientNamespaces(objs)
	var out []Violation
	for _, o := range objs {
		ap, ok := authorizationPolicy(o)
		if ok && ambient[o.Namespace] && o.Annotations["istio.io/dry-run"] == "true" && len(ap.Spec.GetTargetRefs()) == 0 && ap.Spec.GetTargetRef() == nil {
			out = append(out, Violation{o.URN, o.Ref() + ": a dry-run policy without targetRefs lands on ztunnel, which may enforce it: target the waypoint or a Service"})
		}
	}
	return out
}

func outboundRegistryOnly(objs []Object) []Violation {
	var out []Violation
	for _, o := range objs {
		var sc networking.Sidecar
		if !o.Is("networking.istio.io", "Sidecar") || o.Decode(&sc) != nil {
			continue
		}
		if sc.Spec.GetOutboundTrafficPolicy().GetMode() == networkingapi.OutboundTrafficPolicy_ALLOW_ANY {
			out = append(out, Violation{o.URN, o.Ref() + ": ALLOW_ANY lets workloads reach any host, around the registry and the egress gateway: use REGISTRY_ONLY"})
		}
	}
	return out
}

// ambientHBONE: in an ambient namespace, a NetworkPolicy rule that admits pods on named ports
// must name 15008, since ztunnel carries every mesh connection there (the application's port is
// never seen on the wire).
func ambientHBONE(objs []Object) []Violation {
	ambient := ambientNamespaces(objs)
	var out []Violation
	for _, o := range objs {
		var np netv1.NetworkPolicy
		if !o.Is("networking.k8s.io", "NetworkPolicy") || !ambient[o.Namespace] || o.Decode(&np) != nil {
			continue
		}
		for i, r := range np.Spec.Ingress {
			fromPods := len(r.From) == 0
			for _, p := range r.From {
				fromPods = fromPods || p.IPBlock == nil
			}
			hbone := len(r.Ports) == 0
			for _, p := range r.Ports {
				hbone = hbone || p.Port == nil || p.Port.IntValue() == 15008
			}
			if fromPods && !hbone {
				out = append(out, Violation{o.URN, fmt.Sprintf("%s: ingress rule %d admits pods only on other ports, but in ambient mode their traffic arrives on TCP 15008 (HBONE): add it", o.Ref(), i)})
			}
		}
	}
	return out
}

// walk calls visit for every key and value under v, depth first.
func walk(v any, visit func(key string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			visit(k, e)
			walk(e, visit)
		}
	case []any:
		for _, e := range v {
			walk(e, visit)
		}
	}
}
